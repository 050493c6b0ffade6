//! The operation table and the request forms against LINE's OpenAPI spec, vendored as
//! `tests/data/channel-access-token.yml` (origin and licence in `tests/data/README.md`).
//!
//! The spec is read with a few line patterns rather than a YAML parser: it is one fixed file
//! in LINE's regular layout, and a layout change makes these tests fail, not pass.

use std::collections::BTreeMap;

use line_channel_token::emulator::{sample_request, SampleInputs};
use line_channel_token::*;

const SPEC: &str = include_str!("data/channel-access-token.yml");

/// One operation as the spec declares it.
#[derive(Debug, Default)]
struct SpecOperation {
    path: String,
    method: String,
    operation_id: String,
    /// Required form fields (inline schema) or query parameters.
    fields: Vec<String>,
    /// Request schemas referenced by `$ref` (the stateless endpoint's two forms).
    refs: Vec<String>,
}

fn operations() -> Vec<SpecOperation> {
    let mut ops: Vec<SpecOperation> = Vec::new();
    let mut in_required = false;
    for line in SPEC.lines() {
        if line == "components:" {
            break;
        }
        if let Some(path) = line
            .strip_prefix("  \"")
            .and_then(|l| l.strip_suffix("\":"))
        {
            ops.push(SpecOperation {
                path: path.to_owned(),
                ..SpecOperation::default()
            });
            continue;
        }
        let Some(op) = ops.last_mut() else { continue };
        if let Some(method) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')) {
            if ["get", "post"].contains(&method) {
                op.method = method.to_uppercase();
            }
        } else if let Some(id) = line.strip_prefix("      operationId: ") {
            op.operation_id = id.to_owned();
        } else if let Some(name) = line.strip_prefix("        - name: ") {
            op.fields.push(name.to_owned());
        } else if let Some(r) = line.trim().strip_prefix("- $ref: \"#/components/schemas/") {
            op.refs.push(r.trim_end_matches('"').to_owned());
        }
        if line == "              required:" {
            in_required = true;
        } else if in_required {
            match line.strip_prefix("                - ") {
                Some(field) => op.fields.push(field.to_owned()),
                None => in_required = false,
            }
        }
    }
    ops
}

/// The required fields of each component schema.
fn component_fields() -> BTreeMap<String, Vec<String>> {
    let components = SPEC.split_once("\ncomponents:\n").unwrap().1;
    let mut schemas: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    let mut in_required = false;
    for line in components.lines() {
        if let Some(name) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')) {
            if !name.starts_with(' ') {
                current = Some(name.to_owned());
                in_required = false;
                continue;
            }
        }
        if line == "      required:" {
            in_required = true;
        } else if in_required {
            match (line.strip_prefix("        - "), &current) {
                (Some(field), Some(name)) => schemas
                    .entry(name.clone())
                    .or_default()
                    .push(field.to_owned()),
                _ => in_required = false,
            }
        }
    }
    schemas
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The field names this crate sends for a request.
fn sent_fields(request: &http::Request<Vec<u8>>) -> Vec<String> {
    let form: Vec<(String, String)> = match request.uri().query() {
        Some(q) => serde_urlencoded::from_str(q).unwrap(),
        None => serde_urlencoded::from_bytes(request.body()).unwrap(),
    };
    sorted(form.into_iter().map(|(k, _)| k).collect())
}

#[test]
fn every_operation_matches_the_spec() {
    let spec = operations();
    assert_eq!(spec.len(), Operation::ALL.len(), "{spec:#?}");
    for op in Operation::ALL {
        let declared = spec
            .iter()
            .find(|s| s.operation_id == op.line_operation_id())
            .unwrap_or_else(|| panic!("{op:?}: no operationId {}", op.line_operation_id()));
        assert_eq!(declared.path, op.path(), "{op:?}");
        assert_eq!(declared.method, op.method().as_str(), "{op:?}");
    }
}

#[test]
fn every_request_sends_exactly_the_fields_the_spec_requires() {
    let api = ApiBase::default();
    let secret = ChannelSecret::new("s");
    let token = AccessToken::new("t");
    let jwt = ClientAssertion::new("h.p.s");
    let inputs = SampleInputs {
        channel_id: "1",
        secret: &secret,
        token: &token,
        assertion: &jwt,
    };
    let spec = operations();
    let components = component_fields();
    for op in Operation::ALL {
        let declared = spec
            .iter()
            .find(|s| s.operation_id == op.line_operation_id())
            .unwrap_or_else(|| panic!("{op:?}: not in the spec"));
        let sent = sent_fields(&sample_request(op, &inputs, &api));
        if declared.fields.is_empty() {
            // A body that is one of several component schemas (`oneOf`): the sample sends one.
            assert!(!declared.refs.is_empty(), "{declared:?}");
            assert!(
                declared
                    .refs
                    .iter()
                    .any(|r| sorted(components[r].clone()) == sent),
                "{op:?} sends {sent:?}, none of {:?}",
                declared.refs
            );
        } else {
            assert_eq!(sent, sorted(declared.fields.clone()), "{op:?}");
        }
    }

    // The stateless endpoint takes one of two component schemas; each form sends one of them.
    let stateless = spec
        .iter()
        .find(|s| s.path == Operation::IssueStateless.path())
        .unwrap();
    let by_name = |suffix: &str| {
        let name = stateless.refs.iter().find(|r| r.ends_with(suffix)).unwrap();
        sorted(components[name].clone())
    };
    assert_eq!(
        sent_fields(&IssueStateless::by_secret("1", &secret).to_request(&api)),
        by_name("ByClientSecretRequest")
    );
    assert_eq!(
        sent_fields(&IssueStateless::by_assertion(&jwt).to_request(&api)),
        by_name("ByJWTAssertionRequest")
    );
}

/// The vendored file is the one `tests/data/README.md` names: vendoring a newer spec (for a
/// new operation) updates the commit and the digest written there, or this fails.
#[test]
fn the_spec_is_the_file_its_provenance_names() {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(SPEC.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let readme = include_str!("data/README.md");
    assert!(
        readme.contains(&format!("`{hex}`")),
        "tests/data/README.md does not name this spec's SHA-256 {hex}: update its commit and digest"
    );
}
