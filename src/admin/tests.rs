use super::*;
use crate::forward::{DeadLetter, KV_KEY_LIMIT};
use crate::secret::Secret;

fn letter(source: &str, id: &str, dead_at_ms: u64) -> DeadLetter {
    DeadLetter::new(source, id, "origin", dead_at_ms, 1, "origin answered 503")
}

#[test]
fn admin_routes_and_refusals() {
    let list = |source: Option<&str>, limit, cursor: Option<&str>| {
        Ok(AdminRoute::List(ListQuery {
            source: source.map(Into::into),
            destination: None,
            limit,
            cursor: cursor.map(Into::into),
        }))
    };
    assert_eq!(
        route("GET", "/admin/dead-letters"),
        list(None, DEFAULT_LIST_LIMIT, None)
    );
    assert_eq!(
        route(
            "GET",
            "/admin/dead-letters/?source=sky%20von&limit=5&cursor=a%2Bb+c"
        ),
        list(Some("sky von"), 5, Some("a+b c"))
    );
    assert_eq!(
        route("GET", "/admin/dead-letters/skyvern/skyvern%3Ar%2F1%3Adone"),
        Ok(AdminRoute::Show(LetterRef {
            source: "skyvern".into(),
            id: "skyvern:r/1:done".into(),
            destination: None,
        }))
    );
    assert_eq!(
        route("DELETE", "/admin/dead-letters/s/i"),
        Ok(AdminRoute::Drop(LetterRef {
            source: "s".into(),
            id: "i".into(),
            destination: None,
        }))
    );
    assert_eq!(route("POST", "/admin/replay"), Ok(AdminRoute::Replay));
    assert_eq!(route("GET", "/admin/replay").unwrap_err().status(), 405);
    assert_eq!(
        route("POST", "/admin/dead-letters").unwrap_err().status(),
        405
    );
    assert_eq!(
        route("PUT", "/admin/dead-letters/s/i")
            .unwrap_err()
            .status(),
        405
    );
    assert_eq!(route("GET", "/admin/").unwrap_err().status(), 404);
    assert_eq!(
        route("GET", "/admin/dead-letters/s").unwrap_err().status(),
        404
    );
    assert_eq!(
        route("GET", "/admin/dead-letters/s/i/x")
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        route("GET", "/admin/dead-letters//i").unwrap_err().status(),
        404
    );
    assert_eq!(
        route("GET", "/admin/dead-letters/s/%ff")
            .unwrap_err()
            .status(),
        400
    );
}

#[test]
fn list_queries_are_validated() {
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "limit=-1",
        "limit=",
        "sourc=a",
    ] {
        let e = ListQuery::parse(bad).unwrap_err();
        assert_eq!(e.status(), 400, "{bad}");
    }
    assert_eq!(
        ListQuery::parse("limit=0").unwrap_err().reason(),
        "bad_limit"
    );
    assert_eq!(ListQuery::parse("limit=1000").unwrap().limit, 1000);
    let q = ListQuery::parse("source=&cursor=").unwrap();
    assert_eq!((q.source, q.cursor), (None, None));
    let e: serde_json::Value =
        serde_json::from_str(&ListQuery::parse("limit=0").unwrap_err().to_json()).unwrap();
    assert_eq!(e["error"], "malformed");
    assert_eq!(e["reason"], "bad_limit");
}

#[test]
fn the_admin_token_is_a_bearer_compared_whole() {
    let token = Secret::new("adm-s3cret");
    assert!(authorized(Some("Bearer adm-s3cret"), &token));
    assert!(authorized(Some("bearer  adm-s3cret "), &token));
    for bad in [
        None,
        Some(""),
        Some("adm-s3cret"),
        Some("Basic adm-s3cret"),
        Some("Bearer adm-s3cre"),
        Some("Bearer adm-s3cret2"),
        Some("Bearer "),
    ] {
        assert!(!authorized(bad, &token), "{bad:?}");
    }
    assert!(!authorized(Some("Bearer "), &Secret::new("")));
    let e = AdminError::Unauthorized.to_json();
    assert!(!e.contains("adm-s3cret"));
}

#[test]
fn index_keys_sort_newest_first_and_carry_the_time() {
    let older = index_keys("origin", "sky", "skyvern:r:completed", 1_764_720_000_000);
    let newer = index_keys("origin", "sky", "skyvern:r:completed", 1_764_720_000_001);
    assert!(newer[0] < older[0] && newer[1] < older[1]);
    assert!(older[0].starts_with(&list_prefix(None)));
    assert!(older[1].starts_with(&list_prefix(Some("sky"))));
    assert_eq!(
        older[1],
        "dead-by-source:sky:8235279999999:skyvern:r:completed"
    );
    for k in older.iter().chain(newer.iter()) {
        assert!(k.len() <= KV_KEY_LIMIT);
    }
    let (all, sky) = (list_prefix(None), list_prefix(Some("sky")));
    assert_eq!(index_key_time_ms(&older[0], &all), Some(1_764_720_000_000));
    assert_eq!(index_key_time_ms(&older[1], &sky), Some(1_764_720_000_000));
    assert_eq!(index_key_time_ms(&older[1], &all), None);
    // A long id is hashed but the key still sorts by time.
    let long = index_keys("origin", "sky", &"r".repeat(600), 1_764_720_000_000);
    assert!(long.iter().all(|k| k.len() <= KV_KEY_LIMIT));
    assert_eq!(index_key_time_ms(&long[0], &all), Some(1_764_720_000_000));
    assert_eq!(index_key_time_ms(&long[1], &sky), Some(1_764_720_000_000));
    let l = letter("sky", "i", 1_764_720_000_000);
    assert_eq!(
        index_keys_of(&l),
        Some(index_keys("origin", "sky", "i", 1_764_720_000_000))
    );
    assert_eq!(letter_key("origin", "sky", "i"), "dead:sky:i");
}

#[test]
fn listings_keep_only_the_source_asked_for() {
    let meta = serde_json::to_value(letter("a:b", "i", 1)).unwrap();
    assert!(listed(Some(meta.clone()), Some("a"), None).is_none());
    assert!(listed(Some(meta.clone()), Some("a:b"), None).is_some());
    assert!(listed(Some(meta), None, None).is_some());
    assert!(listed(None, None, None).is_none());
    assert!(listed(Some(serde_json::json!({"x": 1})), None, None).is_none());
    assert_eq!(next_cursor(true, Some("c".into())), None);
    assert_eq!(next_cursor(false, Some("c".into())), Some("c".into()));
    assert_eq!(next_cursor(false, Some(String::new())), None);
}

#[test]
fn replay_requests_are_validated() {
    let r = ReplayRequest::parse(br#"{"since":"2026-12-01T00:00:00Z"}"#).unwrap();
    assert_eq!(r.since_ms, Some(1_796_083_200_000));
    assert!(!r.is_direct());
    assert_eq!(r.scan_prefix(), "dead-by-time:");
    let r = ReplayRequest::parse(br#"{"source":"sky","ids":["a","b","a"]}"#).unwrap();
    assert!(r.is_direct());
    assert_eq!(r.ids.as_ref().unwrap().len(), 2);
    let r = ReplayRequest::parse(br#"{"since":"2026-12-01T01:00:00+01:00","source":"s"}"#).unwrap();
    assert_eq!(r.since_ms, Some(1_796_083_200_000));
    assert_eq!(r.scan_prefix(), "dead-by-source:s:");
    for (body, reason) in [
        (&br#"{"source":"s"}"#[..], "missing_selector"),
        (br#"{}"#, "missing_selector"),
        (br#"{"ids":[]}"#, "bad_ids"),
        (br#"{"ids":[""]}"#, "bad_ids"),
        (br#"{"since":"yesterday"}"#, "bad_since"),
        (br#"{"since":"2026-12-01"}"#, "bad_since"),
        (br#"{"since":5}"#, "bad_json"),
        (br#"{"ids":"a"}"#, "bad_json"),
        (br#"{"idz":["a"]}"#, "bad_json"),
        (b"not json", "bad_json"),
        (b"", "bad_json"),
    ] {
        let e = ReplayRequest::parse(body).unwrap_err();
        assert_eq!((e.status(), e.reason()), (400, reason), "{body:?}");
    }
    let many: Vec<String> = (0..=MAX_REPLAY_IDS).map(|i| i.to_string()).collect();
    let body = serde_json::json!({ "ids": many }).to_string();
    assert_eq!(
        ReplayRequest::parse(body.as_bytes()).unwrap_err().reason(),
        "bad_ids"
    );
}

#[test]
fn a_scan_takes_what_matches_and_stops_at_since() {
    let t = 1_796_083_200_000;
    let r = ReplayRequest::parse(br#"{"since":"2026-12-01T00:00:00Z","ids":["x"]}"#).unwrap();
    let at = |id: &str, ms| {
        (
            index_keys("origin", "s", id, ms)[0].clone(),
            letter("s", id, ms),
        )
    };
    let (k, l) = at("x", t);
    assert_eq!(r.step(&k, Some(&l)), Step::Take);
    let (k, l) = at("y", t + 5);
    assert_eq!(r.step(&k, Some(&l)), Step::Skip);
    let (k, l) = at("x", t - 1);
    assert_eq!(r.step(&k, Some(&l)), Step::Stop);
    let (k, _) = at("x", t + 1);
    assert_eq!(r.step(&k, None), Step::Skip);
    let r = ReplayRequest::parse(br#"{"since":"2026-12-01T00:00:00Z","source":"o"}"#).unwrap();
    let (k, l) = at("x", t);
    assert_eq!(r.step(&k, Some(&l)), Step::Skip, "another source");
}

#[test]
fn destination_routes_and_a_destination_on_dead_letter_routes() {
    assert_eq!(
        route("GET", "/admin/destinations"),
        Ok(AdminRoute::Destinations)
    );
    assert_eq!(
        route("POST", "/admin/destinations/app/pause"),
        Ok(AdminRoute::Pause { name: "app".into() })
    );
    assert_eq!(
        route("POST", "/admin/destinations/app/resume/"),
        Ok(AdminRoute::Resume { name: "app".into() })
    );
    assert_eq!(
        route("GET", "/admin/destinations/app/pause")
            .unwrap_err()
            .status(),
        405
    );
    assert_eq!(
        route("POST", "/admin/destinations").unwrap_err().status(),
        405
    );
    assert_eq!(
        route("POST", "/admin/destinations/app/stop")
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        route("POST", "/admin/destinations//pause")
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        route("DELETE", "/admin/dead-letters/s/i?destination=agents"),
        Ok(AdminRoute::Drop(LetterRef {
            source: "s".into(),
            id: "i".into(),
            destination: Some("agents".into()),
        }))
    );
    assert_eq!(
        route("GET", "/admin/dead-letters/s/i?dest=agents")
            .unwrap_err()
            .reason(),
        "bad_query"
    );
    let q = ListQuery::parse("destination=failures&source=skyvern").unwrap();
    assert_eq!(
        (q.destination.as_deref(), q.source.as_deref()),
        (Some("failures"), Some("skyvern"))
    );
}

#[test]
fn each_destination_has_its_own_dead_letters_and_the_origin_keeps_the_old_layout() {
    let t = 1_764_720_000_000;
    let origin = index_keys("origin", "sky", "skyvern:r:failed", t);
    let agents = index_keys("agents", "sky", "skyvern:r:failed", t);
    assert_eq!(origin[0], "dead-by-time:8235279999999:sky:skyvern:r:failed");
    assert_eq!(
        agents[0],
        "dead-by-time:8235279999999:~agents:sky:skyvern:r:failed"
    );
    assert_eq!(
        agents[1],
        "dead-by-source:sky:8235279999999:~agents:skyvern:r:failed"
    );
    // Both list under the same prefixes and read the same time.
    assert_eq!(index_key_time_ms(&agents[0], &list_prefix(None)), Some(t));
    assert_eq!(
        index_key_time_ms(&agents[1], &list_prefix(Some("sky"))),
        Some(t)
    );
    assert_eq!(letter_key("origin", "sky", "i"), "dead:sky:i");
    assert_eq!(letter_key("agents", "sky", "i"), "dead~agents:sky:i");
    let l = DeadLetter::new("sky", "i", "agents", t, 3, "origin answered 500");
    assert_eq!(index_keys_of(&l), Some(index_keys("agents", "sky", "i", t)));

    let meta = serde_json::to_value(&l).unwrap();
    assert!(listed(Some(meta.clone()), None, Some("agents")).is_some());
    assert!(listed(Some(meta.clone()), None, Some("origin")).is_none());
    assert!(listed(Some(meta), Some("sky"), Some("agents")).is_some());
    // A record from before destinations is the origin's.
    let old = serde_json::json!({"source":"sky","id":"i","dead_at":"2026-12-01T00:00:00Z",
        "attempts":9,"last_error":"origin answered 503"});
    assert_eq!(
        listed(Some(old.clone()), None, Some("origin"))
            .unwrap()
            .destination,
        "origin"
    );
    assert!(listed(Some(old), None, Some("agents")).is_none());
}

#[test]
fn a_replay_may_name_a_destination() {
    let t = 1_796_083_200_000;
    let r = ReplayRequest::parse(br#"{"since":"2026-12-01T00:00:00Z","destination":"agents"}"#)
        .unwrap();
    assert_eq!(r.destination.as_deref(), Some("agents"));
    let of = |destination: &str| {
        let l = DeadLetter::new("s", "x", destination, t, 1, "e");
        (index_keys(destination, "s", "x", t)[0].clone(), l)
    };
    let (k, l) = of("agents");
    assert_eq!(r.step(&k, Some(&l)), Step::Take);
    let (k, l) = of("origin");
    assert_eq!(r.step(&k, Some(&l)), Step::Skip);
}
