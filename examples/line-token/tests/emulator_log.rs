//! `line-emulator --log`: one JSON line per request answered, with the operation, the status
//! and the channel, so a test or a user can count issuances; never a secret or a token.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::cli::*;
use common::LINE_EMULATOR;

#[test]
fn every_request_is_one_json_line_without_secrets() {
    let channel = format!("{CHANNEL}:{SECRET}");
    let mut child = Command::new(LINE_EMULATOR)
        .args(["--port", "0", "--channel", &channel, "--log"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let base = first
        .trim()
        .strip_prefix("line-emulator: listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let (tx, rx) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });

    let env = [
        ("LINE_API_BASE", base.as_str()),
        ("LINE_CHANNEL_ID", CHANNEL),
    ];
    let secret_env = [env[0], env[1], ("LINE_CHANNEL_SECRET", SECRET)];
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let o = line_token(&["issue-stateless"], &secret_env);
        tokens.push(ok_json(&o)["access_token"].as_str().unwrap().to_owned());
    }
    let wrong = [
        env[0],
        env[1],
        ("LINE_CHANNEL_SECRET", "wrong-secret-0123456789"),
    ];
    failed(&line_token(&["issue-stateless"], &wrong), 1);
    // LINE documents v2.1 verify for v2.1 tokens only: a stateless one is "invalid" (exit 1).
    let token_env = [env[0], ("LINE_CHANNEL_ACCESS_TOKEN", tokens[0].as_str())];
    failed(&line_token(&["verify-v2.1"], &token_env), 1);

    let lines: Vec<String> = (0..4)
        .map(|i| {
            rx.recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("log line {i} missing"))
        })
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let logged: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let issued = logged
        .iter()
        .filter(|l| l["operation"] == "issueStatelessChannelToken" && l["status"] == 200)
        .count();
    assert_eq!(issued, 2, "{lines:?}");
    assert_eq!(logged[2]["status"], 400, "{lines:?}");
    assert_eq!(
        logged[3]["operation"], "verifyChannelTokenByJWT",
        "{lines:?}"
    );
    assert_eq!(logged[3]["status"], 400, "{lines:?}");
    assert!(
        logged[3]["channel"].is_null(),
        "a token names no channel: {lines:?}"
    );
    for l in &logged[..3] {
        assert_eq!(l["channel"], CHANNEL, "{l}");
        assert!(l["time"].as_str().unwrap().ends_with('Z'), "{l}");
    }
    for line in &lines {
        assert!(
            !line.contains(SECRET) && !line.contains("wrong-secret"),
            "{line}"
        );
        for t in &tokens {
            assert!(!line.contains(t.as_str()), "{line}");
        }
    }
}
