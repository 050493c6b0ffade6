//! `line-token token --cache FILE` against a user sharing the machine: caches others can
//! write (StrictModes), files that are not small regular files, planted links and
//! temporaries. CI runs as root, so files can be given to another uid; elsewhere that test is
//! listed as ignored (the package's build script tells).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::cli::*;
use common::*;

#[test]
fn a_cache_others_can_write_is_refused_like_strict_modes() {
    let (server, dir, _) = setup("cli-strict");
    // A directory writable by others, not sticky: refused, with the fix.
    std::fs::create_dir(dir.path("open")).unwrap();
    std::fs::set_permissions(dir.path("open"), PermissionsExt::from_mode(0o777)).unwrap();
    let err = failed(
        &token_output(&server.base, &dir.path("open/t.json"), &[]),
        2,
    );
    assert!(
        err.contains("writable by others") && err.contains("chmod o-w"),
        "{err}"
    );
    assert!(
        !dir.path("open/t.json.lock").exists(),
        "nothing created there"
    );
    // Sticky (like /tmp): fine.
    std::fs::set_permissions(dir.path("open"), PermissionsExt::from_mode(0o1777)).unwrap();
    token(&server.base, &dir.path("open/t.json"), &[]);
    // A directory writable by its group, not sticky: refused too (StrictModes), with the fix;
    // a group member could delete the lock and make a second run issue.
    std::fs::create_dir(dir.path("group")).unwrap();
    std::fs::set_permissions(dir.path("group"), PermissionsExt::from_mode(0o770)).unwrap();
    let err = failed(
        &token_output(&server.base, &dir.path("group/t.json"), &[]),
        2,
    );
    assert!(
        err.contains("writable by its group") && err.contains("chmod g-w"),
        "{err}"
    );
    assert!(
        !dir.path("group/t.json.lock").exists(),
        "nothing created there"
    );
    std::fs::set_permissions(dir.path("group"), PermissionsExt::from_mode(0o1770)).unwrap();
    token(&server.base, &dir.path("group/t.json"), &[]);
    // A cache file writable by the group: refused.
    let cache = dir.path("t.json");
    token(&server.base, &cache, &[]);
    std::fs::set_permissions(&cache, PermissionsExt::from_mode(0o620)).unwrap();
    let err = failed(&token_output(&server.base, &cache, &[]), 2);
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&cache, PermissionsExt::from_mode(0o600)).unwrap();
}

#[test]
#[cfg_attr(
    not_root,
    ignore = "needs root, to give files to another user (CI runs as root)"
)]
fn files_and_links_of_another_user_are_refused() {
    assert!(
        is_root(),
        "this test gives files to another user: run it as root"
    );
    let (server, dir, _) = setup("cli-strict-root");
    let cache = dir.path("t.json");
    token(&server.base, &cache, &[]);
    // A cache file owned by another user, holding an injected token: refused, never printed.
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    saved["token"]["access_token"] = "injected-by-mallory-0123456789".into();
    std::fs::write(&cache, saved.to_string()).unwrap();
    std::os::unix::fs::chown(&cache, Some(4242), Some(4242)).unwrap();
    let o = token_output(&server.base, &cache, &[]);
    let err = failed(&o, 2);
    assert!(err.contains("uid 4242") && err.contains("rm "), "{err}");
    // A directory owned by another user: refused.
    std::fs::create_dir(dir.path("theirs")).unwrap();
    std::os::unix::fs::chown(dir.path("theirs"), Some(4242), Some(4242)).unwrap();
    let err = failed(
        &token_output(&server.base, &dir.path("theirs/t.json"), &[]),
        2,
    );
    assert!(err.contains("uid 4242"), "{err}");
    // A link planted by another user (in /tmp, say) pointing at a directory of yours:
    // refused, and nothing is written through it.
    std::fs::create_dir(dir.path("project")).unwrap();
    dir.write("project/t.json", b"{\"format\": \"precious, not a cache\"}");
    std::fs::set_permissions(dir.path("project/t.json"), PermissionsExt::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(dir.path("project"), dir.path("planted")).unwrap();
    std::os::unix::fs::lchown(dir.path("planted"), Some(4242), Some(4242)).unwrap();
    let err = failed(
        &token_output(&server.base, &dir.path("planted/t.json"), &[]),
        2,
    );
    assert!(err.contains("symbolic link of uid 4242"), "{err}");
    assert!(dir.read("project/t.json").contains("precious"));
    assert!(!dir.path("project/t.json.lock").exists());
    // A lock file planted by another user: refused, not waited on.
    std::fs::write(dir.path("mine.json.lock"), b"").unwrap();
    std::os::unix::fs::chown(dir.path("mine.json.lock"), Some(4242), Some(4242)).unwrap();
    failed(&token_output(&server.base, &dir.path("mine.json"), &[]), 2);
}

#[test]
fn a_cache_file_others_can_read_is_narrowed_to_0600_with_a_note() {
    let (server, dir, _) = setup("cli-narrow");
    let cache = dir.path("t.json");
    let first = token(&server.base, &cache, &[]);
    for loose in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&cache, PermissionsExt::from_mode(loose)).unwrap();
        // A warm hit (nothing to save) still narrows it.
        let o = token_output(&server.base, &cache, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stdout(&o).trim(), first, "the cached token");
        let note = stderr(&o);
        assert!(
            note.contains("warning") && note.contains("narrowed to 0600"),
            "{loose:o}: {note}"
        );
        assert_eq!(mode(&cache), 0o600, "{loose:o}");
    }
    // Private already: no note.
    let o = token_output(&server.base, &cache, &[]);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

/// Runs `token` on `cache` and requires a quick exit 2.
fn refused_quickly(base: &str, cache: &Path) -> String {
    let started = Instant::now();
    let mut child = command(
        &["token", "--cache", cache.to_str().unwrap()],
        &channel_env(base),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("line-token hung on {}", cache.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    failed(&child.wait_with_output().unwrap(), 2)
}

#[test]
fn a_cache_that_is_not_a_small_regular_file_is_refused_quickly() {
    let (server, dir, _) = setup("cli-bounded");
    // A symlink to /dev/zero, and /dev/zero itself.
    std::os::unix::fs::symlink("/dev/zero", dir.path("zero.json")).unwrap();
    let err = refused_quickly(&server.base, &dir.path("zero.json"));
    assert!(err.contains("symbolic link"), "{err}");
    let err = refused_quickly(&server.base, Path::new("/dev/zero"));
    assert!(err.contains("not a regular file"), "{err}");
    assert!(!Path::new("/dev/zero.lock").exists());
    // A FIFO: refused, not waited on.
    run(std::process::Command::new("mkfifo").arg(dir.path("fifo.json")));
    let err = refused_quickly(&server.base, &dir.path("fifo.json"));
    assert!(err.contains("not a regular file"), "{err}");
    // A file larger than any cache: refused without reading it.
    let big = dir.write("big.json", vec![b' '; 300 * 1024]);
    std::fs::set_permissions(&big, PermissionsExt::from_mode(0o600)).unwrap();
    let err = refused_quickly(&server.base, &big);
    assert!(err.contains("bytes"), "{err}");
}

#[test]
fn planted_links_and_temporaries_are_never_followed() {
    let (server, dir, _) = setup("cli-planted");
    let victim = dir.write("victim.txt", "precious");
    let cache = dir.path("t.json");
    // The names the old CLI used for its temporary file, planted as links to the victim.
    for pid in 0..64 {
        std::os::unix::fs::symlink(&victim, dir.path(&format!("t.json.tmp{pid}"))).unwrap();
    }
    // A lock file planted as a link: refused, the victim untouched.
    std::os::unix::fs::symlink(&victim, dir.path("t.json.lock")).unwrap();
    let err = failed(&token_output(&server.base, &cache, &[]), 2);
    assert!(err.contains("symbolic link"), "{err}");
    std::fs::remove_file(dir.path("t.json.lock")).unwrap();
    // The cache itself planted as a link: refused, not followed, not replaced.
    std::os::unix::fs::symlink(&victim, &cache).unwrap();
    let err = failed(&token_output(&server.base, &cache, &[]), 2);
    assert!(err.contains("symbolic link"), "{err}");
    std::fs::remove_file(&cache).unwrap();
    // With the way clear, runs work and never touch the planted names.
    token(&server.base, &cache, &[]);
    token(&server.base, &cache, &["--force-refresh"]);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(dir
        .path("t.json.tmp7")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn the_temporary_file_is_private_and_random_even_under_umask_000() {
    use std::io::BufRead;
    use std::os::unix::fs::MetadataExt;
    let (server, dir, _) = setup("cli-temp");
    let cache = dir.path("t.json");
    let mut env = channel_env(&server.base).to_vec();
    env.push(("LINE_TOKEN_TEST_STALL_BEFORE_RENAME", "1"));
    // Only these LINE variables: a developer's own (a key file, say) would change the run.
    let mut child = command_umask_000(&["token", "--cache", cache.to_str().unwrap()], &env)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "line-token: stalled before rename"
    );
    let temps: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(temps.len(), 1);
    let name = temps[0].file_name().to_string_lossy().into_owned();
    let random = name
        .strip_prefix(".t.json.")
        .unwrap()
        .strip_suffix(".tmp")
        .unwrap();
    assert!(
        random.len() >= 12 && random.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{name}"
    );
    let meta = temps[0].path().symlink_metadata().unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.mode() & 0o7777, 0o600, "{name}");
    // It holds the token; nobody else can read it, and it is never a path anyone can guess.
    assert!(std::fs::read_to_string(temps[0].path())
        .unwrap()
        .contains("access_token"));
}
