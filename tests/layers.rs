//! Data flows one way through the layers (see CONTRIBUTING.md): a module may use the layers
//! below it, never one above. This reads the sources and fails on any path that reaches up.

use std::path::{Path, PathBuf};

/// Each layer (a folder or file under `src/`) and the crate paths it must never name.
const RULES: &[(&str, &[&str])] = &[
    ("facts.rs", &["jose", "protocol", "lifecycle", "emulator"]),
    ("secret.rs", &["jose", "protocol", "lifecycle", "emulator"]),
    ("time.rs", &["jose", "protocol", "lifecycle", "emulator"]),
    ("jose", &["protocol", "lifecycle", "emulator"]),
    ("protocol", &["jose", "lifecycle", "emulator"]),
    ("lifecycle", &["emulator"]),
    ("emulator", &["lifecycle"]),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}

#[test]
fn no_module_reaches_up_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (layer, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "no sources for layer {layer}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                for upper in *forbidden {
                    for prefix in ["crate::", "super::super::"] {
                        if line.contains(&format!("{prefix}{upper}")) {
                            violations.push(format!(
                                "{}:{}: {}",
                                file.display(),
                                n + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layer violations:\n{}",
        violations.join("\n")
    );
}

/// The protocol layer names what it uses by its layer path, not through the crate root's
/// re-exports (which would hide a reach upwards from the check above).
#[test]
fn the_protocol_layer_does_not_import_through_the_crate_root() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/protocol"),
        &mut files,
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("use crate::{"), "{}", file.display());
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("use crate::"))
        {
            let path = line.trim_start().trim_start_matches("use crate::");
            assert!(
                ["protocol", "facts", "secret", "time"]
                    .iter()
                    .any(|m| path.starts_with(m)),
                "{}: {line}",
                file.display()
            );
        }
    }
}

/// The layers are private; each public item has one path: the crate root for the protocol
/// and jose layers, its module for the rest. (`tests/public_api.rs` checks the whole list.)
#[test]
fn public_paths_are_stable() {
    #[allow(unused_imports)]
    use line_channel_token::store::{
        decide, Decision, Failure, OwnerId, Record, StoreConfig, StoreConfigError, Wait,
        WaitReason, Write,
    };
    #[allow(unused_imports)]
    use line_channel_token::{
        cache, call, call_async, facts, jwt, pool, request_id, rotation, ApiBase, ApiError,
        CallError, DecodeError, Endpoint, Error, ErrorBody, ErrorDetail, IssueShortLived,
        IssueStateless, IssueV21, IssuedToken, KeyIds, KeyIdsV21, Operation, Revoke, RevokeV21,
        TokenInfo, Verify, VerifyV21, WithHttpInfo, LINE_API_BASE,
    };
    assert!(!Operation::ALL.is_empty());
    assert_eq!(facts::REQUEST_ID_HEADER, "x-line-request-id");
    assert_eq!(
        facts::CLIENT_ASSERTION_TYPE,
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
}
