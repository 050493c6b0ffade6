//! The crate's public API is the one committed in `tests/data/public-api.txt`: every public
//! name is a promise once published, so a change to it is a change to that file, reviewed.
//!
//! The list comes from `cargo public-api` (rustdoc JSON, so a nightly toolchain), which a
//! plain `cargo test` may not have: the test is ignored by default, with the reason, and
//! `.ci/run` runs it with `--ignored` (installing the tool), where a missing tool fails it.
//!
//! Regenerate the file after an intended change (CONTRIBUTING.md, "The public API"):
//!
//! ```text
//! UPDATE_PUBLIC_API=1 cargo test --test public_api -- --ignored
//! ```

use std::path::Path;
use std::process::Command;

const REGENERATE: &str = "UPDATE_PUBLIC_API=1 cargo test --test public_api -- --ignored";

/// The public API as `cargo public-api` lists it, all features on, blanket and auto-trait
/// impls left out (`-ss`: they follow from the types and only add noise).
fn current_api(manifest_dir: &Path) -> String {
    let output = Command::new("cargo")
        .args([
            "public-api",
            "--manifest-path",
            "Cargo.toml",
            "-p",
            "line-channel-token",
            "--all-features",
            "-ss",
        ])
        .current_dir(manifest_dir)
        // The rustdoc JSON build gets a target dir of its own: it never waits for, or
        // invalidates, the one running this test.
        .env("CARGO_TARGET_DIR", manifest_dir.join("target/public-api"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "could not run `cargo public-api` ({e}): install it with \
                 `cargo install cargo-public-api --locked` (it needs a nightly toolchain: \
                 `rustup toolchain install nightly`)"
            )
        });
    assert!(
        output.status.success(),
        "`cargo public-api` failed: install it with `cargo install cargo-public-api --locked` \
         and a nightly toolchain (`rustup toolchain install nightly`)\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("cargo public-api prints UTF-8")
}

/// The lines only in `old` (`-`) and only in `new` (`+`), in their order.
fn diff(old: &str, new: &str) -> String {
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let removed = old_lines.iter().filter(|l| !new_lines.contains(l));
    let added = new_lines.iter().filter(|l| !old_lines.contains(l));
    let mut out = String::new();
    for line in removed {
        out.push_str(&format!("- {line}\n"));
    }
    for line in added {
        out.push_str(&format!("+ {line}\n"));
    }
    if out.is_empty() {
        out.push_str("(the same lines, in another order)\n");
    }
    out
}

#[test]
#[ignore = "needs cargo-public-api and a nightly toolchain; CI runs it: cargo test --test public_api -- --ignored"]
fn the_public_api_is_the_committed_one() {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = manifest_dir.join("tests/data/public-api.txt");
    let api = current_api(manifest_dir);
    if std::env::var_os("UPDATE_PUBLIC_API").is_some_and(|v| v == "1") {
        std::fs::write(&file, &api).expect("write tests/data/public-api.txt");
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == api,
        "the public API differs from tests/data/public-api.txt \
         (- only in the file, + only in the crate):\n{}\n\
         If the change is intended, regenerate the file and commit it:\n    {REGENERATE}",
        diff(&committed, &api)
    );
}
