//! `line-token token` on a host whose clock is ahead of LINE's (`faketime` on the CLI alone;
//! the emulator states its own clock in `Date`): one stderr line says by how much and what to
//! do, on success and on failure, and a failed run still shows its other warnings.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::cli::*;

/// `token --cache CACHE` with the CLI's clock `offset` (faketime's `+600s`) ahead.
fn token_ahead(offset: &str, base: &str, cache: &Path) -> Output {
    let plain = command(
        &["token", "--cache", cache.to_str().unwrap()],
        &channel_env(base),
    );
    let mut cmd = Command::new("faketime");
    cmd.args(["-f", offset]).arg(plain.get_program());
    cmd.args(plain.get_args());
    for (k, v) in plain.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().unwrap()
}

/// The seconds the one clock line states, and how many such lines there are.
fn clock_lines(stderr: &str, way: &str) -> (usize, Vec<u64>) {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("line-token: warning: this host's clock is "))
        .collect();
    let secs = lines
        .iter()
        .filter(|l| l.contains(&format!("s {way} LINE's (its Date header)")))
        .filter(|l| l.contains("fix the clock (NTP)"))
        .filter_map(|l| l.split(' ').nth(6).and_then(|n| n.parse().ok()))
        .collect();
    (lines.len(), secs)
}

#[test]
fn a_clock_ten_minutes_ahead_is_named_once_and_a_token_is_printed() {
    let (server, dir, _) = setup("cli-skew-ahead");
    let cache = dir.path("t.json");
    let o = token_ahead("+600s", &server.base, &cache);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let (count, secs) = clock_lines(&err, "ahead of");
    assert_eq!(count, 1, "{err}");
    assert!(secs.len() == 1 && (598..=602).contains(&secs[0]), "{err}");
    assert!(err.contains("refreshed more often"), "{err}");
    // The next runs use that token: it is not in its refresh window on arrival.
    let first = stdout(&o).trim().to_owned();
    for _ in 0..2 {
        let again = token_ahead("+600s", &server.base, &cache);
        assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
        assert_eq!(stdout(&again).trim(), first);
    }
}

#[test]
fn a_clock_ahead_by_more_than_a_lifetime_fails_saying_so_with_the_other_warnings() {
    let (server, dir, _) = setup("cli-skew-far");
    let cache = dir.path("t.json");
    token(&server.base, &cache, &[]);
    // A file others can read: narrowed, with a note that a failed run must not lose.
    std::fs::set_permissions(&cache, PermissionsExt::from_mode(0o644)).unwrap();
    let o = token_ahead("+1000s", &server.base, &cache);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("narrowed to 0600"), "{err}");
    let (count, secs) = clock_lines(&err, "ahead of");
    assert!(count == 1 && secs.len() == 1, "{err}");
    assert!(
        err.contains(&format!("your clock is {} s ahead of LINE's", secs[0]))
            && err.contains("fix the clock"),
        "{err}"
    );
    // The next run within the pause does not ask LINE again: the same answer, at once.
    let again = token_ahead("+1000s", &server.base, &cache);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("an earlier run's answer"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_clock_behind_is_named_once() {
    let (server, dir, _) = setup("cli-skew-behind");
    let cache = dir.path("t.json");
    let o = token_ahead("-120s", &server.base, &cache);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let (count, secs) = clock_lines(&err, "behind");
    assert!(count == 1 && secs.len() == 1, "{err}");
}
