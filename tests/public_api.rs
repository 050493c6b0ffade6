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

/// The crate's rustdoc JSON (nightly), all features on, in a target dir of its own.
fn rustdoc_json(manifest_dir: &Path) -> serde_json::Value {
    let target = manifest_dir.join("target/doc-examples");
    let status = Command::new("cargo")
        .args([
            "+nightly",
            "rustdoc",
            "-q",
            "-p",
            "line-channel-token",
            "--lib",
        ])
        .args([
            "--all-features",
            "--",
            "-Z",
            "unstable-options",
            "--output-format",
            "json",
        ])
        .current_dir(manifest_dir)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo +nightly rustdoc (rustup toolchain install nightly)");
    assert!(
        status.success(),
        "cargo +nightly rustdoc --output-format json failed"
    );
    let json = std::fs::read(target.join("doc/line_channel_token.json")).unwrap();
    serde_json::from_slice(&json).expect("rustdoc JSON")
}

/// Walks the public items reachable from the crate root and lists, by public path, every
/// type (struct, enum, trait, alias) and every function or method returning `Result` whose
/// docs hold no code example. Docs on a re-export count: rustdoc shows them on the item.
/// A trait's required methods are exempt: the example of implementing them is the trait's.
struct ExampleWalk<'a> {
    index: &'a serde_json::Map<String, serde_json::Value>,
    seen: std::collections::HashSet<String>,
    counted: (usize, usize),
    missing: Vec<String>,
}

impl ExampleWalk<'_> {
    fn item(&self, id: &serde_json::Value) -> Option<&serde_json::Value> {
        self.index.get(&id.to_string())
    }

    fn walk(&mut self, id: &serde_json::Value, path: &str, reexport_docs: &str) {
        let Some(item) = self.item(id).cloned() else {
            return;
        };
        if item["crate_id"] != 0 || !self.seen.insert(format!("{id}{path}")) {
            return;
        }
        let name = item["name"].as_str().unwrap_or_default();
        let here = if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}::{name}")
        };
        let docs = format!(
            "{reexport_docs}{}",
            item["docs"].as_str().unwrap_or_default()
        );
        let Some((kind, inner)) = item["inner"].as_object().and_then(|o| o.iter().next()) else {
            return;
        };
        match kind.as_str() {
            "module" => {
                // The crate root's items are at the root; a module's under its name.
                let path = if path.is_empty() && item["id"] == doc_root(self.index) {
                    ""
                } else {
                    &here
                };
                for child in inner["items"].as_array().unwrap() {
                    self.walk(child, path, "");
                }
            }
            "use" if !inner["id"].is_null() => {
                let docs = item["docs"].as_str().unwrap_or_default().to_owned();
                self.walk(&inner["id"], path, &docs);
            }
            "struct" | "enum" | "trait" | "type_alias" => {
                self.counted.0 += 1;
                if !docs.contains("```") {
                    self.missing.push(format!("{kind} {here}"));
                }
                let mut methods = Vec::new();
                for imp in inner["impls"].as_array().into_iter().flatten() {
                    let Some(imp) = self.item(imp) else { continue };
                    let imp = &imp["inner"]["impl"];
                    if imp["trait"].is_null() && imp["blanket_impl"].is_null() {
                        methods.extend(imp["items"].as_array().unwrap().iter().cloned());
                    }
                }
                if kind == "trait" {
                    let provided = |m: &serde_json::Value| {
                        self.item(m)
                            .is_some_and(|m| m["inner"]["function"]["has_body"] == true)
                    };
                    let items = inner["items"].as_array().unwrap();
                    methods.extend(items.iter().filter(|m| provided(m)).cloned());
                }
                for m in methods {
                    self.walk(&m, &here, "");
                }
            }
            "function" => {
                let output = &inner["sig"]["output"]["resolved_path"]["path"];
                // Inherent methods are "public"; a trait's provided methods are "default".
                let public = matches!(item["visibility"].as_str(), Some("public" | "default"));
                if public && output.as_str().is_some_and(|p| p.ends_with("Result")) {
                    self.counted.1 += 1;
                    if !docs.contains("```") {
                        self.missing.push(format!("fn {here}"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The crate root's id: the one module no other module lists.
fn doc_root(index: &serde_json::Map<String, serde_json::Value>) -> serde_json::Value {
    let root = index
        .values()
        .find(|i| i["name"] == "line_channel_token" && i["inner"]["module"]["is_crate"] == true);
    root.expect("the crate root in rustdoc JSON")["id"].clone()
}

#[test]
#[ignore = "needs a nightly toolchain (rustdoc JSON); CI runs it: cargo test --test public_api -- --ignored"]
fn every_public_type_and_fallible_function_has_an_example() {
    let doc = rustdoc_json(Path::new(env!("CARGO_MANIFEST_DIR")));
    let mut walk = ExampleWalk {
        index: doc["index"].as_object().unwrap(),
        seen: Default::default(),
        counted: (0, 0),
        missing: Vec::new(),
    };
    walk.walk(&doc["root"], "", "");
    let (types, functions) = walk.counted;
    assert!(
        types > 50 && functions > 20,
        "the walk found {types} types, {functions} functions"
    );
    assert!(
        walk.missing.is_empty(),
        "of {types} public types and {functions} public functions returning Result, these have \
         no example in their docs (a ``` block, on the item or its re-export):\n{}",
        walk.missing.join("\n")
    );
}
