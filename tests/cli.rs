//! The `edgehook` binary as a user runs it: exit codes and messages for bad input, sign and
//! verify round trips, and the README's session (`edgehook origin`, the Worker under
//! workerd, `edgehook send`) with the real processes.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_edgehook");

fn run(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("EDGEHOOK_SECRET")
        .env_remove("EDGEHOOK_TOKEN")
        .env_remove("ORIGIN_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run edgehook");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["send", "origin", "sign", "verify"] {
        let out = run(&[sub, "--help"], b"");
        assert!(out.status.success(), "{sub} --help");
        assert!(
            text(&out.stdout).contains("Usage: edgehook"),
            "{sub}: {}",
            text(&out.stdout)
        );
    }
}

#[test]
fn bad_input_gets_a_clear_message_and_its_exit_code() {
    let out = run(
        &[
            "send",
            "skyvern",
            "--url",
            "localhost:8787/in/skyvern",
            "--secret",
            "k",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not an http:// or https:// URL"),
        "{}",
        text(&out.stderr)
    );

    let out = run(
        &[
            "send",
            "stripe",
            "--url",
            "http://127.0.0.1:1/in/x",
            "--secret",
            "k",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown provider `stripe`"));

    let closed = format!("http://127.0.0.1:{}/in/skyvern", free_port());
    let out = run(
        &[
            "send",
            "skyvern",
            "--url",
            &closed,
            "--secret",
            "k",
            "--timeout",
            "5",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("could not reach"),
        "{}",
        text(&out.stderr)
    );

    let out = run(
        &[
            "origin",
            "--secret",
            "not-a-whsec",
            "--listen",
            "127.0.0.1:0",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("whsec_"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("not-a-whsec"),
        "the secret is not echoed"
    );
}

#[test]
fn sign_then_verify_round_trips_and_a_changed_body_fails() {
    let out = run(
        &["sign", "--secret", ORIGIN_SECRET, "--id", "msg_1"],
        b"{\"a\":1}",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let headers = text(&out.stdout);
    let get = |name: &str| {
        headers
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {headers}"))
            .to_owned()
    };
    let (ts, sig) = (get("webhook-timestamp"), get("webhook-signature"));
    assert_eq!(get("webhook-id"), "msg_1");
    let args = [
        "verify",
        "--secret",
        ORIGIN_SECRET,
        "--id",
        "msg_1",
        "--timestamp",
        &ts,
        "--signature",
        &sig,
    ];
    let ok = run(&args, b"{\"a\":1}");
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).trim(), "ok");
    let bad = run(&args, b"{\"a\":2}");
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("does not verify"));

    // A provider's scheme: the Skyvern signature of the body.
    let out = run(
        &[
            "sign",
            "--provider",
            "skyvern",
            "--secret",
            "sk_test_vector_key",
            "--timestamp",
            "1700000000",
        ],
        br#"{"run_id":"tsk_1","status":"completed","step_count":3}"#,
    );
    assert!(
        text(&out.stdout).contains(
            "x-skyvern-signature: 265f5ed41f0325ae21f032638ff7d71cd6ecc9d3ae00a4b67f9666e1348423a5"
        ),
        "{}",
        text(&out.stdout)
    );
}

/// The README's session, with the real processes: origin, Worker, send.
#[test]
fn send_through_the_worker_to_the_origin_command() {
    let port = free_port();
    let mut origin = Command::new(BIN)
        .args([
            "origin",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--secret",
            ORIGIN_SECRET,
            "--fail",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let worker = Worker::start(&Setup::new(&format!("http://127.0.0.1:{port}/events")));
    let url = worker.url("/in/browser-use");
    let out = run(
        &[
            "send",
            "browser-use",
            "--url",
            &url,
            "--secret",
            BROWSER_USE_SECRET,
            "--run-id",
            "cli-1",
            "--repeat",
            "2",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answers = text(&out.stdout);
    let lines: Vec<&str> = answers.lines().collect();
    assert_eq!(lines.len(), 2, "{answers}");
    assert!(
        lines[0].starts_with("202 ") && lines[0].contains("\"accepted\""),
        "{answers}"
    );
    assert!(
        lines[1].starts_with("200 ") && lines[1].contains("\"duplicate\""),
        "{answers}"
    );

    let tampered = run(
        &[
            "send",
            "browser-use",
            "--url",
            &url,
            "--secret",
            BROWSER_USE_SECRET,
            "--tamper",
        ],
        b"",
    );
    assert_eq!(tampered.status.code(), Some(1));
    assert!(
        text(&tampered.stdout).starts_with("401 "),
        "{}",
        text(&tampered.stdout)
    );

    // The origin failed the first attempt on purpose; the retry prints the envelope.
    let stdout = origin.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let line = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(l) => break l,
            Err(_) if Instant::now() > deadline => {
                panic!("the origin printed nothing:\n{}", worker.logs())
            }
            Err(_) => continue,
        }
    };
    let envelope: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(envelope["subject"], "cli-1");
    assert_eq!(envelope["type"], "run.completed");
    assert_eq!(
        envelope["data"]["payload"]["payload"]["metadata"]["city"],
        "München"
    );
    let _ = origin.kill();
    let _ = origin.wait();
}
