use super::*;

const AT: u64 = 1_764_700_000_000;
const ORIGIN: [Target; 1] = [Target {
    destination: "origin",
    base_attempts: 0,
}];

/// The one message, and the KV key, of an envelope to `origin` alone.
fn one(id: &str, envelope: &str) -> (String, Option<String>) {
    let mut batch = queue_messages("s", id, envelope, AT, &ORIGIN);
    assert_eq!(batch.messages.len(), 1);
    (batch.messages.remove(0), batch.stored)
}

#[test]
fn small_envelopes_go_inline_large_ones_by_reference() {
    let small = r#"{"id":"x"}"#;
    let (msg, stored) = one("x", small);
    assert!(stored.is_none());
    assert_eq!(
        msg,
        r#"{"inline":{"source":"s","id":"x","destination":"origin","base_attempts":0,"received_ms":1764700000000,"envelope":{"id":"x"}}}"#
    );
    let back: QueueMessage = serde_json::from_str(&msg).unwrap();
    assert!(matches!(&back, QueueMessage::Inline { envelope, .. } if envelope.get() == small));
    assert_eq!(back.hop().unwrap().destination, "origin");

    // The limit is on the whole message's UTF-8 bytes, counted exactly: a message of
    // INLINE_MESSAGE_LIMIT bytes goes inline, one byte more goes by reference.
    let fill = |n: usize| format!(r#"{{"p":"{}"}}"#, "a".repeat(n));
    let overhead = one("x", &fill(0)).0.len() - fill(0).len();
    let at = fill(INLINE_MESSAGE_LIMIT - overhead - fill(0).len());
    let (msg, stored) = one("x", &at);
    assert_eq!((msg.len(), stored.is_none()), (INLINE_MESSAGE_LIMIT, true));
    let over = fill(INLINE_MESSAGE_LIMIT - overhead - fill(0).len() + 1);
    assert!(one("x", &over).1.is_some());
    // Escapes and non-ASCII are what they are in UTF-8: no JSON re-encoding to allow for.
    let wide = format!(r#"{{"p":"{}"}}"#, "é".repeat(60_000));
    assert!(one("x", &wide).1.is_none());
    let wider = format!(r#"{{"p":"{}"}}"#, "é".repeat(62_500));
    assert!(one("x", &wider).1.is_some());

    let big = fill(INLINE_MESSAGE_LIMIT);
    let (msg, _) = one("x\"y", &big);
    let back: QueueMessage = serde_json::from_str(&msg).unwrap();
    assert!(matches!(&back, QueueMessage::Stored { hop, .. } if hop.id == "x\"y"));
    let (msg, stored) = one("x", &big);
    assert_eq!(stored.as_deref(), Some("body:s:x"));
    let back: QueueMessage = serde_json::from_str(&msg).unwrap();
    assert!(matches!(back, QueueMessage::Stored { key, .. } if key == "body:s:x"));
}

#[test]
fn k_destinations_are_k_messages_and_a_big_body_is_kept_once() {
    let targets = [
        Target {
            destination: "app",
            base_attempts: 0,
        },
        Target {
            destination: "failures",
            base_attempts: 0,
        },
        Target {
            destination: "agents",
            base_attempts: 2,
        },
    ];
    let small = r#"{"id":"x"}"#;
    let batch = queue_messages("s", "x", small, AT, &targets);
    assert_eq!(batch.stored, None);
    let hops: Vec<Hop> = batch
        .messages
        .iter()
        .map(|m| {
            let back: QueueMessage = serde_json::from_str(m).unwrap();
            back.hop().unwrap().clone()
        })
        .collect();
    let names: Vec<&str> = hops.iter().map(|h| h.destination.as_str()).collect();
    assert_eq!(names, ["app", "failures", "agents"]);
    assert_eq!(hops[2].base_attempts, 2);

    // 100 KB fits one message, but three of them do not fit one sendBatch: one KV copy,
    // three references to it.
    let hundred_kb = format!(r#"{{"p":"{}"}}"#, "a".repeat(100_000));
    let batch = queue_messages("s", "x", &hundred_kb, AT, &targets);
    assert_eq!(batch.stored.as_deref(), Some("body:s:x"));
    assert_eq!(batch.messages.len(), 3);
    assert!(batch.messages.iter().all(|m| m.len() < 300));
    // ... while alone it goes inline.
    assert_eq!(
        queue_messages("s", "x", &hundred_kb, AT, &ORIGIN).stored,
        None
    );
}

#[test]
fn messages_from_before_destinations_are_the_origins() {
    let old = r#"{"inline":{"source":"s","id":"x","envelope":{"id":"x"}}}"#;
    let back: QueueMessage = serde_json::from_str(old).unwrap();
    let hop = back.hop().unwrap();
    assert_eq!(
        (hop.destination.as_str(), hop.base_attempts, hop.received_ms),
        ("origin", 0, 0)
    );
    let old = r#"{"stored":{"source":"s","id":"x","key":"body:s:x"}}"#;
    let back: QueueMessage = serde_json::from_str(old).unwrap();
    assert!(matches!(back, QueueMessage::Stored { key, .. } if key == "body:s:x"));

    let drain: QueueMessage = serde_json::from_str(&QueueMessage::drain("app")).unwrap();
    assert!(matches!(&drain, QueueMessage::Drain { destination } if destination == "app"));
    assert!(drain.hop().is_none());
}
