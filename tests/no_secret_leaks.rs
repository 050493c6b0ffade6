//! No `Debug` or `Display` of a public type shows a secret, in any state: every public type
//! that can hold one is built here, with secrets that are easy to find, and its output is
//! scanned for them as text, URL-encoded, base64url-decoded key numbers, and as the byte list
//! `Debug` prints for a `Vec<u8>` body. Servers that echo a secret back are included.

use std::fmt::Debug;
use std::time::Duration;

use line_channel_token::cache::{CacheState, Credentials, Handled, Poll, TokenCache};
use line_channel_token::emulator::Emulator;
use line_channel_token::pool::TokenPool;
use line_channel_token::rotation::{plan, reconcile, RotationPolicy, V21Record};
use line_channel_token::*;

const CHANNEL: &str = "1234567890";
const SECRET: &str = "SECRETcanary0123456789abcdef";
const TOKEN: &str = "TOKENcanary0123456789abcdef";
const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

/// The ways a secret could show up in printed output.
struct Scanner {
    needles: Vec<(String, String)>,
}

impl Scanner {
    fn new(key: &SigningKey, assertion: &ClientAssertion) -> Scanner {
        let mut needles = Vec::new();
        let mut add = |what: &str, secret: &str| {
            needles.push((what.to_owned(), secret.to_owned()));
            // As form-encoded in a body, and as `{:?}` of a `Vec<u8>` prints it.
            needles.push((format!("{what} (url-encoded)"), url_encode(secret)));
            let bytes = format!("{:?}", &secret.as_bytes()[..12]);
            needles.push((
                format!("{what} (as bytes)"),
                bytes[1..bytes.len() - 1].to_owned(),
            ));
        };
        add("channel secret", SECRET);
        add("access token", TOKEN);
        // The signature part of the assertion: the header and claims are public-ish.
        let signature = assertion.expose_secret().rsplit('.').next().unwrap();
        add("assertion signature", &signature[..40]);
        let jwk: serde_json::Value = serde_json::from_str(&key.to_private_jwk()).unwrap();
        for member in ["d", "p", "q", "dp", "dq", "qi"] {
            add(
                &format!("private key {member}"),
                &jwk[member].as_str().unwrap()[..24],
            );
        }
        Scanner { needles }
    }

    fn check(&self, label: &str, value: &(impl Debug + ?Sized)) {
        self.check_text(label, &format!("{value:?}\n{value:#?}"));
    }

    fn check_display(&self, label: &str, value: &(impl Debug + std::fmt::Display + ?Sized)) {
        self.check_text(label, &format!("{value:?}\n{value:#?}\n{value}"));
    }

    fn check_text(&self, label: &str, text: &str) {
        for (what, needle) in &self.needles {
            assert!(
                !text.contains(needle.as_str()),
                "{label} shows the {what}:\n{text}"
            );
        }
    }
}

fn url_encode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_owned()
}

fn docs_key() -> SigningKey {
    SigningKey::parse(include_str!("keys/line-docs-pyjwt.jwk.json")).unwrap()
}

fn response(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

/// LINE's refusal of a wrong channel secret.
const REFUSAL: &str = r#"{"error":"invalid_client","error_description":"invalid client_secret"}"#;

/// An error body that echoes every secret back, as a careless server might.
fn echoing_error(assertion: &ClientAssertion) -> String {
    serde_json::json!({
        "error": "invalid_request",
        "error_description": format!("bad client_secret {SECRET}, token {TOKEN}, assertion {}", assertion.expose_secret()),
        "details": [{"message": SECRET, "property": TOKEN}],
    })
    .to_string()
}

#[test]
fn secrets_and_keys() {
    let key = docs_key();
    let assertion = AssertionBuilder::new(CHANNEL, "kid")
        .sign(&key, NOW, &mut OsRng)
        .unwrap();
    let scan = Scanner::new(&key, &assertion);
    scan.check_display("ChannelSecret", &ChannelSecret::new(SECRET));
    scan.check_display("AccessToken", &AccessToken::new(TOKEN));
    scan.check_display("ClientAssertion", &assertion);
    scan.check("SigningKey", &key);
    scan.check_display("PublicJwk", key.public_jwk());
    let builder = AssertionBuilder::new(CHANNEL, "kid").token_exp(Duration::from_secs(60));
    scan.check("AssertionBuilder", &builder);
    scan.check("AssertionClaims", &builder.claims(NOW).unwrap());
    // A key refused for each reason: the message never carries the numbers.
    let jwk = key.to_private_jwk();
    for broken in [
        jwk.replace("\"kty\": \"RSA\"", "\"kty\": \"EC\""),
        jwk.replace("\"alg\": \"RS256\"", "\"alg\": \"HS256\""),
        jwk.replace("\"use\": \"sig\"", "\"use\": \"enc\""),
        jwk.replacen('A', "B", 1),
        jwk[..jwk.len() / 2].to_owned(),
    ] {
        scan.check_display("KeyError", &SigningKey::parse(&broken).unwrap_err());
        scan.check("KeyError (public)", &PublicJwk::from_json(&broken).err());
    }
}

#[test]
fn endpoints_and_their_responses() {
    let key = docs_key();
    let secret = ChannelSecret::new(SECRET);
    let token = AccessToken::new(TOKEN);
    let assertion = AssertionBuilder::new(CHANNEL, "kid")
        .token_exp(Duration::from_secs(60))
        .sign(&key, NOW, &mut OsRng)
        .unwrap();
    let scan = Scanner::new(&key, &assertion);
    scan.check("IssueShortLived", &IssueShortLived::new(CHANNEL, &secret));
    scan.check(
        "IssueStateless",
        &IssueStateless::by_secret(CHANNEL, &secret),
    );
    scan.check("IssueStateless", &IssueStateless::by_assertion(&assertion));
    scan.check("IssueV21", &IssueV21::new(&assertion));
    scan.check("KeyIdsV21", &KeyIdsV21::new(&assertion));
    scan.check("Revoke", &Revoke::new(&token));
    scan.check("RevokeV21", &RevokeV21::new(CHANNEL, &secret, &token));
    scan.check("Verify", &Verify::new(&token));
    scan.check("VerifyV21", &VerifyV21::new(&token));

    let issued = response(
        200,
        &format!(r#"{{"access_token":"{TOKEN}","token_type":"Bearer","expires_in":900}}"#),
    );
    let token_out = IssueStateless::parse_response(&issued).unwrap();
    scan.check("IssuedToken", &token_out);
    let refused = response(400, REFUSAL);
    let error = IssueShortLived::parse_response(&refused).unwrap_err();
    scan.check_display("Error", &error);
    scan.check("ApiError", error.as_api().unwrap());
    let garbage = response(
        200,
        &format!("{{\"access_token\":\"{TOKEN}\",\"expires_in\":\"x\"}}"),
    );
    scan.check_display(
        "Error (undecodable body with a token)",
        &IssueStateless::parse_response(&garbage).unwrap_err(),
    );
    let call_error = call(&ApiBase::default(), &Verify::new(&token), |_req| {
        Ok::<_, std::io::Error>(response(400, REFUSAL))
    })
    .unwrap_err();
    scan.check_display("CallError", &call_error);
}

/// A server that echoes the secret it was sent: the protocol layer redacts credential-like text
/// from error bodies when it parses them, so neither the error nor the cache's failure (saved
/// state included) prints it.
#[test]
fn servers_that_echo_secrets() {
    let key = docs_key();
    let secret = ChannelSecret::new(SECRET);
    let assertion = AssertionBuilder::new(CHANNEL, "kid")
        .sign(&key, NOW, &mut OsRng)
        .unwrap();
    let scan = Scanner::new(&key, &assertion);
    let echo = response(400, &echoing_error(&assertion));
    let error = IssueShortLived::parse_response(&echo).unwrap_err();
    scan.check_display("Error (echoed secrets)", &error);
    let mut cache = TokenCache::new(
        ApiBase::default(),
        Credentials::stateless_by_secret(CHANNEL, secret.clone()),
    );
    let Poll::Refresh(refresh) = cache.poll(NOW) else {
        panic!("a cold cache refreshes")
    };
    let _ = cache.handle_response(refresh.ticket(), NOW, &echo);
    scan.check("CacheState (failed, echoed)", &cache.state());
}

#[test]
fn the_cache_in_every_state() {
    let key = docs_key();
    let assertion = AssertionBuilder::new(CHANNEL, "kid")
        .sign(&key, NOW, &mut OsRng)
        .unwrap();
    let scan = Scanner::new(&key, &assertion);
    let mut line = Emulator::new();
    line.add_channel(CHANNEL, ChannelSecret::new(SECRET));
    let jwk = key.public_jwk().to_json();
    let kid = line.register_public_key(CHANNEL, &jwk).unwrap();
    for credentials in [
        Credentials::stateless_by_secret(CHANNEL, ChannelSecret::new(SECRET)),
        Credentials::short_lived(CHANNEL, ChannelSecret::new(SECRET)),
        Credentials::stateless_by_assertion(CHANNEL, kid.clone(), key.clone(), Box::new(OsRng))
            .unwrap(),
        Credentials::v21(
            CHANNEL,
            kid.clone(),
            key.clone(),
            Duration::from_secs(86_400),
            Box::new(OsRng),
        )
        .unwrap(),
    ] {
        scan.check("Credentials", &credentials);
        let mut cache = TokenCache::new(ApiBase::default(), credentials);
        scan.check("TokenCache (cold)", &cache);
        let Poll::Refresh(refresh) = cache.poll(NOW) else {
            panic!("a cold cache refreshes")
        };
        // The request holds the secret or the assertion in its body: Debug must not.
        scan.check("Refresh", &refresh);
        scan.check("TokenCache (in flight)", &cache);
        let _ = cache.handle_response(refresh.ticket(), NOW, &response(400, REFUSAL));
        scan.check("TokenCache (failed)", &cache);
        scan.check("CacheState (failed)", &cache.state());
        scan.check("Poll (failed)", &cache.poll(NOW));
        let later = NOW + Duration::from_secs(3600);
        if let Poll::Refresh(refresh) = cache.poll(later) {
            let issued = response(
                200,
                // (`key_id` is only read for v2.1 tokens.)
                &format!(
                    r#"{{"access_token":"{TOKEN}","token_type":"Bearer","expires_in":900,"key_id":"k1"}}"#
                ),
            );
            let handled = cache.handle_response(refresh.ticket(), later, &issued);
            assert_eq!(handled, Handled::Stored);
        }
        scan.check("TokenCache (warm)", &cache);
        scan.check("CacheState (warm)", &cache.state());
        let poll = cache.poll(later);
        assert!(matches!(poll, Poll::Ready(_)), "{poll:?}");
        scan.check("Poll (ready)", &poll);
        let saved = serde_json::to_string(&cache.state()).unwrap();
        let restored: CacheState = serde_json::from_str(&saved).unwrap();
        scan.check("CacheState (restored)", &restored);
        let mut pool = TokenPool::new();
        pool.insert(CHANNEL.to_owned(), cache);
        scan.check("TokenPool", &pool);
    }
    scan.check("Emulator", &line);
}

#[test]
fn rotation_records() {
    let key = docs_key();
    let assertion = AssertionBuilder::new(CHANNEL, "kid")
        .sign(&key, NOW, &mut OsRng)
        .unwrap();
    let scan = Scanner::new(&key, &assertion);
    let records = vec![V21Record {
        access_token: AccessToken::new(TOKEN),
        key_id: "k1".into(),
        expires_at: NOW + Duration::from_secs(3600),
    }];
    scan.check("V21Record", &records);
    let listing = KeyIds {
        kids: vec!["k2".into()],
    };
    let reconciled = reconcile(&records, &listing);
    scan.check("Reconciliation", &reconciled);
    scan.check("Step", &plan(&reconciled, NOW, &RotationPolicy::default()));
}

/// A non-JSON error page that echoes a secret just where the parser stops reading (after a
/// long credential-like run): the part of the secret before the cut is shorter than a
/// credential, so it must be dropped with the cut, not shown as harmless text.
#[test]
fn a_secret_cut_by_the_scan_window_is_not_shown_in_part() {
    let key = docs_key();
    let assertion = AssertionBuilder::new(CHANNEL, "kid")
        .sign(&key, NOW, &mut OsRng)
        .unwrap();
    let scan = Scanner::new(&key, &assertion);
    // 4080 bytes that are redacted as one run, a space, then the secret across byte 4096.
    let page = format!("{} {SECRET} end", "a1".repeat(2040));
    let error = IssueShortLived::parse_response(&response(502, &page)).unwrap_err();
    let shown = format!("{error} {error:?}");
    scan.check_text("Error (secret cut by the scan window)", &shown);
    assert!(!shown.contains(&SECRET[..12]), "{shown}");
}

/// `secret` as a server or proxy might echo it: the name of the encoding, and the text.
fn encodings(secret: &str) -> Vec<(&'static str, String)> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    let b = secret.as_bytes();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let groups = |s: &str, n: usize, sep: &str| {
        let chunks: Vec<&str> = s
            .as_bytes()
            .chunks(n)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        chunks.join(sep)
    };
    vec![
        ("text", secret.to_owned()),
        ("form-encoded", url_encode(secret)),
        (
            "percent-encoded",
            b.iter().map(|x| format!("%{x:02X}")).collect(),
        ),
        ("base64", STANDARD.encode(b)),
        ("base64 unpadded", STANDARD_NO_PAD.encode(b)),
        ("base64url", URL_SAFE.encode(b)),
        ("base64url unpadded", URL_SAFE_NO_PAD.encode(b)),
        (
            "base64 of the form",
            STANDARD.encode(format!("client_secret={secret}")),
        ),
        ("hex", hex.clone()),
        ("HEX", hex.to_uppercase()),
        ("groups of four", groups(secret, 4, " ")),
        ("groups by dashes", groups(secret, 4, "-")),
        ("lines", groups(secret, 8, "\n")),
        ("hex dump", groups(&hex, 2, " ")),
        ("xxd -p", groups(&hex, 16, "\n")),
    ]
}

/// The needles an echo in `encoded` leaves if it is not redacted: the whole text, and its
/// first 12 characters (so a partial redaction of groups is caught too).
fn leaks(shown: &str, encoded: &str) -> bool {
    let head: String = encoded.chars().take(12).collect();
    shown.contains(encoded) || shown.contains(&head)
}

/// A server that echoes the secret it was sent, once per encoding, in each place a server
/// controls: an error body, a proxy's error page, the request id header, and a mistyped
/// field of a 200 body. Neither `call`'s error nor the cache's failure, event or saved state
/// shows it.
#[test]
fn servers_that_echo_secrets_in_every_encoding() {
    let secret = ChannelSecret::new(SECRET);
    let mut leaked = Vec::new();
    for (encoding, echoed) in encodings(SECRET) {
        let one_line = echoed.replace('\n', " ");
        let bodies = [
            (
                400,
                serde_json::json!({"error": "invalid_client", "error_description": format!("bad {echoed}")})
                    .to_string(),
                None,
            ),
            (502, format!("<html><pre>got:\n{echoed}\n</pre></html>"), None),
            (
                400,
                REFUSAL.to_owned(),
                Some(format!("client_secret={one_line}")),
            ),
            (
                200,
                serde_json::json!({"access_token": "x", "expires_in": echoed}).to_string(),
                Some(one_line.clone()),
            ),
        ];
        for (status, body, request_id) in bodies {
            let what = format!("{encoding} echoed in HTTP {status} {body:?} / {request_id:?}");
            let echo = || {
                let mut r = response(status, &body);
                if let Some(id) = &request_id {
                    r.headers_mut()
                        .insert("x-line-request-id", id.parse().unwrap());
                }
                r
            };
            let op = IssueStateless::by_secret(CHANNEL, &secret);
            let error = call(
                &ApiBase::default(),
                &op,
                |_| Ok::<_, std::io::Error>(echo()),
            )
            .unwrap_err();
            let shown = format!("{error} {error:?}");
            if leaks(&shown, &echoed) {
                leaked.push(format!("call: {what}:\n{shown}"));
            }

            let mut cache = TokenCache::new(
                ApiBase::default(),
                Credentials::stateless_by_secret(CHANNEL, secret.clone()),
            );
            let Poll::Refresh(refresh) = cache.poll(NOW) else {
                panic!("a cold cache refreshes")
            };
            let handled = cache.handle_response(refresh.ticket(), NOW, &echo());
            let events: Vec<_> = std::iter::from_fn(|| cache.poll_event()).collect();
            let shown = format!(
                "{handled:?} {events:?} {:?} {}",
                cache.state(),
                serde_json::to_string(&cache.state()).unwrap()
            );
            if leaks(&shown, &echoed) {
                leaked.push(format!("cache: {what}:\n{shown}"));
            }
        }
    }
    assert!(
        leaked.is_empty(),
        "{} of 120 echoes leaked:\n{}",
        leaked.len(),
        leaked.join("\n\n")
    );
}
