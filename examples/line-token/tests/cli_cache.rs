//! `line-token token --cache FILE` as shell scripts and cron jobs meet it: a private,
//! self-describing file, a bounded lock wait, crash safety, recovery after a backoff.
//! A user sharing the machine attacking it: `cli_cache_attacks.rs`.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::cli::*;
use common::*;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A Unix second as the cache file writes times (by `date`, an independent formatter).
fn rfc3339_at(unix_secs: u64) -> String {
    let at = format!("@{unix_secs}");
    let out =
        run(std::process::Command::new("date").args(["-u", "-d", &at, "+%Y-%m-%dT%H:%M:%S.000Z"]));
    String::from_utf8(out).unwrap().trim().to_owned()
}

#[test]
fn a_token_is_cached_in_a_self_describing_private_file() {
    let (server, dir, kid) = setup("cli-token");
    let cache = dir.path("state/dir/token.json");
    let first = token(&server.base, &cache, &[]);
    assert!(!first.is_empty() && !first.contains(' '));
    assert_eq!(token(&server.base, &cache, &[]), first, "reused");
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(
        !text.contains(SECRET),
        "no channel secret in the cache file"
    );
    let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(saved["format"], "line-channel-token/cache/v2");
    let expires = saved["token"]["expires_at"].as_str().unwrap();
    assert!(
        expires.len() == 24 && expires.ends_with('Z') && expires.as_bytes()[10] == b'T',
        "RFC 3339: {expires}"
    );
    assert_eq!(mode(&cache), 0o600);

    // --force-refresh issues a new one even though the cached one is good.
    let forced = token(&server.base, &cache, &["--force-refresh"]);
    assert_ne!(forced, first);
    assert_eq!(token(&server.base, &cache, &[]), forced);
    // A refresh window as long as the token is refused.
    failed(
        &token_output(&server.base, &cache, &["--refresh-before", "900"]),
        2,
    );
    // Another type while the saved token is good: refused, the file untouched (the token
    // would be lost, and two jobs sharing the file would issue on every run).
    let before = std::fs::read(&cache).unwrap();
    let o = token_output(&server.base, &cache, &["--type", "short-lived"]);
    failed(&o, 2);
    assert!(
        stderr(&o).contains("holds a stateless token of channel")
            && stderr(&o).contains("its own cache file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&cache).unwrap(), before);
    // Once that token has expired, nothing is lost: replaced, not mixed up.
    let mut saved: serde_json::Value = serde_json::from_slice(&before).unwrap();
    saved["token"]["issued_at"] = "2020-01-01T00:00:00.000Z".into();
    saved["token"]["expires_at"] = "2020-01-01T00:15:00.000Z".into();
    std::fs::write(&cache, saved.to_string()).unwrap();
    let short = token(&server.base, &cache, &["--type", "short-lived"]);
    assert_ne!(short, forced);
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(text.contains("short-lived") && text.contains(&short));
    // A damaged cache is replaced, with a warning.
    std::fs::write(
        &cache,
        br#"{"format": "line-channel-token/cache/v2", "token": 7}"#,
    )
    .unwrap();
    let o = token_output(&server.base, &cache, &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("replacing it"), "{}", stderr(&o));
    // A file that is not a cache (a mistyped path: the secret file, a config) is left alone.
    for foreign in [
        &b"{ not json"[..],
        b"0123456789abcdef0123456789abcdef\n",
        b"{\"a\": 1}",
    ] {
        std::fs::write(&cache, foreign).unwrap();
        let err = failed(&token_output(&server.base, &cache, &[]), 2);
        assert!(err.contains("not a line-token cache"), "{err}");
        assert_eq!(std::fs::read(&cache).unwrap(), foreign);
    }
    std::fs::remove_file(&cache).unwrap();
    // v2.1 with a key: no key material in the file either.
    let key = dir.path("private.json");
    let v21_args = [
        "--type",
        "v2.1",
        "--kid",
        &kid,
        "--key",
        key.to_str().unwrap(),
        "--token-exp",
        "86400",
    ];
    let v21 = token(&server.base, &cache, &v21_args);
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(text.contains("v2.1") && text.contains(&v21));
    let d = serde_json::from_str::<serde_json::Value>(&dir.read("private.json")).unwrap()["d"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!text.contains(&d[..20]));
    // LINE unreachable, cached token valid: printed, exit 0, with a warning saying until when.
    drop(server);
    let o = token_output(&dead_base(), &cache, &v21_args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), v21);
    // Unreachable and nothing cached: exit 3, worth retrying.
    failed(&token_output(&dead_base(), &dir.path("empty.json"), &[]), 3);
}

#[test]
fn an_expiring_token_is_renewed_and_times_in_messages_are_rfc_3339() {
    let (server, dir, _) = setup("cli-renew");
    let cache = dir.path("token.json");
    let first = token(&server.base, &cache, &[]);
    // Time passes: the saved expiry is 2 minutes away, inside the refresh window.
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    saved["token"]["expires_at"] = "2020-01-01T00:00:00.000Z".into();
    // ...and long after the last issuance, so LINE's issuance throttle does not hold it back.
    saved["last_refresh_at"] = "2020-01-01T00:00:00.000Z".into();
    std::fs::write(&cache, saved.to_string()).unwrap();
    let renewed = token(&server.base, &cache, &[]);
    assert_ne!(renewed, first, "an expired token is never printed");
    // LINE down, token still valid but due: the warning gives the expiry as RFC 3339 + relative.
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    // A 15-minute token issued 13 minutes ago (a restored token longer-lived than LINE's
    // lifetime is discarded as impossible).
    // One reading of the clock: two readings a second apart made the token 901 s long.
    let now = now_ms() / 1000;
    saved["token"]["issued_at"] = rfc3339_at(now - 13 * 60).into();
    saved["token"]["expires_at"] = rfc3339_at(now + 120).into();
    saved["last_refresh_at"] = rfc3339_at(now - 13 * 60).into();
    std::fs::write(&cache, saved.to_string()).unwrap();
    drop(server);
    let o = token_output(&dead_base(), &cache, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let warning = stderr(&o);
    assert!(
        warning.contains("still valid until 20") && warning.contains("Z (in "),
        "{warning}"
    );
}

#[test]
fn a_v1_file_is_read_and_migrated() {
    let dir = Scratch::new("cli-v1");
    let cache = dir.path("token.json");
    let now = now_ms();
    let v1 = serde_json::json!({
        "format": "line-channel-token/cache/v1",
        "state": {
            "channel_id": CHANNEL, "token_type": "stateless",
            "token": {"access_token": "v1-cached-token-abcdef", "issued_at": now - 60_000,
                      "expires_at": now + 600_000},
            "in_flight": null, "failures": 0, "retry_at": null, "last_failure": null,
            "next_ticket": 3
        }
    });
    dir.write("token.json", v1.to_string());
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o600)).unwrap();
    // No LINE needed: the cached token is good.
    assert_eq!(token(&dead_base(), &cache, &[]), "v1-cached-token-abcdef");
    let migrated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert_eq!(migrated["format"], "line-channel-token/cache/v2");
    // The token kind is written as `kind` now; the old name was only read.
    assert_eq!(migrated["kind"], "stateless");
    assert!(migrated.get("token_type").is_none());
    // Refresh tickets are never saved: an answer is only accepted by the run that asked.
    assert!(migrated.get("next_ticket").is_none());
    assert!(migrated["token"]["expires_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
}

#[test]
fn a_saved_ticket_count_at_the_end_of_u64_does_not_panic() {
    let (server, dir, _) = setup("cli-ticket");
    let cache = dir.path("token.json");
    for format in ["v1", "v2"] {
        let state = serde_json::json!({
            "channel_id": CHANNEL, "token_type": "stateless", "token": null,
            "in_flight": null, "failures": u32::MAX, "retry_at": null, "last_failure": null,
            "next_ticket": u64::MAX
        });
        let file = if format == "v1" {
            serde_json::json!({"format": "line-channel-token/cache/v1", "state": state})
        } else {
            let mut v2 = state;
            v2["format"] = "line-channel-token/cache/v2".into();
            v2
        };
        dir.write("token.json", file.to_string());
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o600)).unwrap();
        let o = token_output(&server.base, &cache, &[]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
    }
}

#[test]
fn an_empty_cache_path_is_a_usage_error_before_any_file_or_request() {
    let dir = Scratch::new("cli-empty-cache");
    let o = command(&["token", "--cache", ""], &channel_env(&dead_base()))
        .current_dir(dir.path(""))
        .output()
        .unwrap();
    assert!(failed(&o, 2).contains("--cache"), "{}", stderr(&o));
    assert!(
        !dir.path(".lock").exists(),
        "a lock was left in the working directory"
    );
}

#[test]
fn files_and_directories_are_private_under_umask_000() {
    let (server, dir, _) = setup("cli-umask");
    let cache = dir.path("new/nested/token.json");
    let o = line_token_umask_000(
        &["token", "--cache", cache.to_str().unwrap()],
        &channel_env(&server.base),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(mode(&cache), 0o600, "cache file");
    assert_eq!(
        mode(&dir.path("new/nested/token.json.lock")),
        0o600,
        "lock file"
    );
    assert_eq!(mode(&dir.path("new/nested")), 0o700);
    assert_eq!(mode(&dir.path("new")), 0o700);
    let o = line_token_umask_000(
        &[
            "keygen",
            "--private",
            dir.path("k.json").to_str().unwrap(),
            "--public",
            dir.path("p.json").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(mode(&dir.path("k.json")), 0o600, "private key");
}

#[test]
fn a_lock_held_by_another_process_is_waited_on_for_lock_timeout_then_exit_3() {
    let (server, dir, _) = setup("cli-lock");
    let cache = dir.path("t.json");
    let first = token(&server.base, &cache, &[]);
    // This test process is "another process": flock locks exclude across processes.
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.path("t.json.lock"))
        .unwrap();
    for shared in [false, true] {
        if shared {
            lock.lock_shared().unwrap();
        } else {
            lock.lock().unwrap();
        }
        let started = Instant::now();
        let o = token_output(&server.base, &cache, &["--lock-timeout", "1"]);
        let elapsed = started.elapsed();
        let err = failed(&o, 3);
        assert!(err.contains("--lock-timeout"), "{err}");
        assert!(
            elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(10),
            "{elapsed:?}"
        );
        lock.unlock().unwrap();
    }
    assert_eq!(token(&server.base, &cache, &["--lock-timeout", "1"]), first);
}

#[test]
fn a_run_killed_mid_write_leaves_nothing_later_runs_trip_over() {
    use std::io::BufRead;
    let (server, dir, _) = setup("cli-kill");
    let cache = dir.path("t.json");
    let first = token(&server.base, &cache, &[]);
    let before = std::fs::read(&cache).unwrap();
    let env = channel_env(&server.base);
    let mut env = env.to_vec();
    env.push(("LINE_TOKEN_TEST_STALL_BEFORE_RENAME", "1"));
    let mut child = command(
        &[
            "token",
            "--cache",
            cache.to_str().unwrap(),
            "--force-refresh",
        ],
        &env,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    assert_eq!(line, "line-token: stalled before rename");
    child.kill().unwrap(); // SIGKILL, mid-write
    child.wait().unwrap();
    let leftovers = || {
        std::fs::read_dir(&dir.0)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .count()
    };
    assert_eq!(leftovers(), 1, "the killed run's temporary file");
    assert_eq!(
        std::fs::read(&cache).unwrap(),
        before,
        "the cache is untouched"
    );
    // Files that only look alike (another cache's temporary, someone's notes) are not touched.
    let decoys = [".t.json.x.abcdefghijkl.tmp", ".t.json.notes.tmp"];
    for d in decoys {
        dir.write(d, "keep");
    }
    // The next run uses the old token, and sweeps the leftover.
    assert_eq!(token(&server.base, &cache, &[]), first);
    assert_eq!(leftovers(), decoys.len());
    for d in decoys {
        assert!(dir.path(d).exists(), "{d} was removed");
    }
}

#[test]
fn a_backoff_saved_by_an_earlier_run_blocks_only_briefly_once_line_is_back() {
    let (server, dir, _) = setup("cli-backoff");
    let cache = dir.path("t.json");
    let down = FakeLine::start(|_| (503, "<html>down</html>".to_owned()));
    // Several failures in a row: the saved backoff grows.
    for _ in 0..4 {
        failed(&token_output(&down.base, &cache, &[]), 3);
    }
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert!(saved["retry_at"].as_str().unwrap().ends_with('Z'));
    // Pretend the backoff is very long.
    let mut saved = saved;
    saved["retry_at"] = "2999-01-01T00:00:00.000Z".into();
    std::fs::write(&cache, saved.to_string()).unwrap();
    // LINE answers again: the next run waits at most a few seconds, then gets a token.
    let started = Instant::now();
    let t = token(&server.base, &cache, &[]);
    assert!(!t.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn concurrent_processes_sharing_a_cache_issue_one_token() {
    let (server, dir, _) = setup("cli-concurrent");
    let cache = dir.path("shared.json");
    let children: Vec<_> = (0..8)
        .map(|_| {
            command(
                &["token", "--cache", cache.to_str().unwrap()],
                &channel_env(&server.base),
            )
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let tokens: Vec<String> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success());
            stdout(&o).trim().to_owned()
        })
        .collect();
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every process printed the same token: {tokens:?}"
    );
    // Every file the runs made is the user's alone.
    for entry in std::fs::read_dir(&dir.0).unwrap().flatten() {
        let m = entry.metadata().unwrap();
        if entry.file_name().to_string_lossy().starts_with("shared") {
            assert_eq!(m.mode() & 0o077, 0, "{:?}", entry.file_name());
        }
    }
}
