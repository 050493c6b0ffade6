//! The refusal walk: every row of the protocol layer's refusal table is driven out of the
//! emulator by a request, and the client side parses it back with the row's hint.

use http::{Method, Request, StatusCode};
use serde_json::{json, Value};

use super::Emulator;
use crate::facts::{AUDIENCE, CLIENT_ASSERTION_TYPE};
use crate::jose::jwt::sign_rs256;
use crate::jose::key::SigningKey;
use crate::protocol::endpoints::{Endpoint, Verify};
use crate::protocol::error_body::ErrorBody;
use crate::protocol::operation::Operation;
use crate::protocol::refusal::{self, hints, Refusal};
use crate::protocol::wire::FORM_CONTENT_TYPE;
use crate::time::UnixTime;

const CHANNEL: &str = "1234567890";
const SECRET: &str = "s3cret";
const KEY: &str = include_str!("../../tests/keys/line-docs-pyjwt.jwk.json");
const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

fn request(
    method: Method,
    path: &str,
    content_type: Option<&str>,
    fields: &[(&str, &str)],
) -> Request<Vec<u8>> {
    let form = serde_urlencoded::to_string(fields).unwrap();
    let mut builder = Request::builder().method(method.clone());
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    if method == Method::GET {
        builder
            .uri(format!("{path}?{form}"))
            .body(Vec::new())
            .unwrap()
    } else {
        builder.uri(path).body(form.into_bytes()).unwrap()
    }
}

fn post(op: Operation, fields: &[(&str, &str)]) -> Request<Vec<u8>> {
    request(op.method(), op.path(), Some(FORM_CONTENT_TYPE), fields)
}

fn key_ids_v21(assertion: &str) -> Request<Vec<u8>> {
    post(
        Operation::KeyIdsV21,
        &[
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
    )
}

struct Setup {
    line: Emulator,
    key: SigningKey,
    kid: String,
}

impl Setup {
    fn new() -> Setup {
        let mut line = Emulator::new();
        line.add_channel(CHANNEL, crate::ChannelSecret::new(SECRET));
        let key = SigningKey::parse(KEY).unwrap();
        let kid = line
            .register_public_key(CHANNEL, &key.public_jwk().to_json())
            .unwrap();
        Setup { line, key, kid }
    }

    fn header(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": self.kid})
    }

    fn claims() -> Value {
        json!({"iss": CHANNEL, "sub": CHANNEL, "aud": AUDIENCE, "exp": NOW.as_secs() + 600})
    }

    fn sign(&self, header: Value, claims: Value) -> String {
        sign_rs256(&header, &claims, &self.key, &mut crate::OsRng)
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    /// The default header and claims, with `change` applied to the claims.
    fn assertion(&self, change: impl FnOnce(&mut Value)) -> String {
        let mut claims = Setup::claims();
        change(&mut claims);
        self.sign(self.header(), claims)
    }
}

/// Sends `request` at `at`, checks that the answer is exactly `expected` and that a client
/// shows `expected`'s hint, and returns it for the coverage check.
fn expect(
    line: &mut Emulator,
    at: UnixTime,
    request: &Request<Vec<u8>>,
    expected: Refusal,
) -> Refusal {
    let response = line.handle(at, request);
    let what = format!("{} {}", request.method(), request.uri());
    assert_eq!(response.status(), expected.status, "{what}");
    assert_eq!(ErrorBody::parse(response.body()), expected.body(), "{what}");
    let error = Verify::parse_response(&response).unwrap_err();
    let api = error.as_api().unwrap();
    assert_eq!(api.hint(), Some(expected.hint), "{what}");
    assert!(error.to_string().contains(expected.hint), "{error}");
    assert!(api.request_id().is_some(), "{what}");
    expected
}

/// The emulator under test and the refusals seen so far.
struct Walk {
    line: Emulator,
    seen: Vec<Refusal>,
}

impl Walk {
    fn check(&mut self, request: Request<Vec<u8>>, expected: Refusal) {
        self.check_at(NOW, request, expected);
    }

    fn check_at(&mut self, at: UnixTime, request: Request<Vec<u8>>, expected: Refusal) {
        self.seen
            .push(expect(&mut self.line, at, &request, expected));
    }
}

#[test]
fn every_refusal_the_emulator_produces_parses_back_with_its_hint() {
    let s = Setup::new();
    let mut w = Walk {
        line: s.line.clone(),
        seen: Vec::new(),
    };

    // Routing and parameters.
    w.check(
        request(Method::GET, Operation::Verify.path(), None, &[]),
        refusal::METHOD_NOT_ALLOWED,
    );
    w.check(
        request(Method::POST, "/v2/oauth/nope", None, &[]),
        refusal::NOT_FOUND,
    );
    w.check(
        request(
            Method::POST,
            Operation::Verify.path(),
            None,
            &[("access_token", "a")],
        ),
        refusal::CONTENT_TYPE,
    );
    let short = Operation::IssueShortLived;
    w.check(
        post(short, &[("client_id", CHANNEL)]),
        refusal::PARAMETERS_MISSED,
    );
    w.check(
        post(short, &[("grant_type", "password")]),
        refusal::UNSUPPORTED_GRANT_TYPE,
    );

    // Channel secrets.
    let creds = |id, secret| {
        [
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ]
    };
    w.check(
        post(short, &creds("999", SECRET)),
        refusal::INVALID_CLIENT_ID,
    );
    w.check(
        post(short, &creds(CHANNEL, "wrong")),
        refusal::INVALID_CLIENT_SECRET,
    );
    w.check(
        post(Operation::IssueStateless, &creds(CHANNEL, "wrong")),
        refusal::INVALID_CLIENT_CREDENTIALS,
    );

    // Presented tokens.
    w.check(
        post(Operation::Verify, &[("access_token", "a b")]),
        refusal::ACCESS_TOKEN_FORMAT,
    );
    w.check(
        post(Operation::Verify, &[("access_token", "unknown")]),
        refusal::ACCESS_TOKEN_INVALID,
    );
    w.check(
        post(Operation::Revoke, &[("access_token", "")]),
        refusal::REVOKE_INVALID,
    );
    let v21 = Operation::VerifyV21;
    w.check(
        post(v21, &[("access_token", "not-a-jws")]),
        refusal::ACCESS_TOKEN_NOT_JWS,
    );
    let revoke = [
        ("client_id", CHANNEL),
        ("client_secret", SECRET),
        ("access_token", "!!.!!.!!"),
    ];
    w.check(
        post(Operation::RevokeV21, &revoke),
        refusal::ACCESS_TOKEN_MALFORMED,
    );

    // v2.1 issuance: token_exp, expiry, the cap.
    let issue = |assertion: &str| {
        post(
            Operation::IssueV21,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", assertion),
            ],
        )
    };
    w.check(issue(&s.assertion(|_| {})), refusal::INVALID_TOKEN_EXP);
    let one_minute = s.assertion(|c| c["token_exp"] = json!(60));
    let issued = w.line.handle(NOW, &issue(&one_minute));
    let token = crate::IssueV21::parse_response(&issued).unwrap();
    let later = NOW + std::time::Duration::from_secs(120);
    let verify = post(v21, &[("access_token", token.access_token.expose_secret())]);
    w.check_at(later, verify, refusal::ACCESS_TOKEN_EXPIRED);
    let day = s.assertion(|c| c["token_exp"] = json!(86_400));
    // The one-minute token above is still active at NOW: 29 more reach the cap.
    for _ in 1..crate::facts::MAX_ACTIVE_V21 {
        assert_eq!(w.line.handle(NOW, &issue(&day)).status(), StatusCode::OK);
    }
    w.check(issue(&day), refusal::MAX_TOKENS_ISSUED);

    // Client assertions, in the order the emulator checks them.
    w.check(
        post(
            Operation::KeyIdsV21,
            &[("client_assertion_type", "jwt"), ("client_assertion", "x")],
        ),
        refusal::INVALID_ASSERTION_TYPE,
    );
    w.check(key_ids_v21("not-a-jwt"), refusal::INVALID_ASSERTION);
    let unknown_kid = s.sign(
        json!({"alg": "RS256", "typ": "JWT", "kid": "nope"}),
        Setup::claims(),
    );
    w.check(key_ids_v21(&unknown_kid), refusal::NO_CHANNEL_KEY);
    let hs256 = s.sign(
        json!({"alg": "HS256", "typ": "JWT", "kid": s.kid}),
        Setup::claims(),
    );
    w.check(key_ids_v21(&hs256), refusal::INVALID_ALG);
    let no_typ = s.sign(json!({"alg": "RS256", "kid": s.kid}), Setup::claims());
    w.check(key_ids_v21(&no_typ), refusal::INVALID_TYP);
    let good = s.assertion(|_| {});
    let other = s.assertion(|c| c["exp"] = json!(NOW.as_secs() + 60));
    let forged = format!(
        "{}.{}",
        good.rsplit_once('.').unwrap().0,
        other.rsplit_once('.').unwrap().1
    );
    w.check(key_ids_v21(&forged), refusal::INVALID_SIGNATURE);
    w.check(
        key_ids_v21(&s.assertion(|c| c["iss"] = json!("999"))),
        refusal::ISS_MISMATCH,
    );
    w.check(
        key_ids_v21(&s.assertion(|c| c["sub"] = json!("999"))),
        refusal::INVALID_SUB,
    );
    w.check(
        key_ids_v21(&s.assertion(|c| c["aud"] = json!("https://example.com/"))),
        refusal::INVALID_AUD,
    );
    w.check(
        key_ids_v21(&s.assertion(|c| c["exp"] = json!(NOW.as_secs() - 1))),
        refusal::INVALID_EXP,
    );

    for row in refusal::ALL {
        assert!(w.seen.contains(row), "no request above produces {row:?}");
    }
}

#[test]
fn injected_failures_get_the_status_hints() {
    let mut line = Emulator::new();
    for (status, hint) in [
        (StatusCode::TOO_MANY_REQUESTS, hints::RATE_LIMITED),
        (StatusCode::INTERNAL_SERVER_ERROR, hints::SERVER),
        (StatusCode::SERVICE_UNAVAILABLE, hints::SERVER),
    ] {
        line.fail_next(Operation::Verify, 1, status);
        let response = line.handle(NOW, &post(Operation::Verify, &[("access_token", "t")]));
        assert_eq!(response.status(), status);
        let error = Verify::parse_response(&response).unwrap_err();
        assert_eq!(error.as_api().unwrap().hint(), Some(hint));
        assert!(error.is_retryable());
    }
}

#[test]
fn expired_v21_records_survive_other_issuance() {
    // Issuing a short-lived token prunes records, but must not turn an expired v2.1 token's
    // "expired" into "invalid".
    let s = Setup::new();
    let mut line = s.line.clone();
    let assertion = s.assertion(|c| c["token_exp"] = json!(60));
    let issued = line.handle(
        NOW,
        &post(
            Operation::IssueV21,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ],
        ),
    );
    let token = crate::IssueV21::parse_response(&issued).unwrap();
    let later = NOW + std::time::Duration::from_secs(120);
    let creds = [
        ("grant_type", "client_credentials"),
        ("client_id", CHANNEL),
        ("client_secret", SECRET),
    ];
    assert_eq!(
        line.handle(later, &post(Operation::IssueShortLived, &creds))
            .status(),
        StatusCode::OK
    );
    let verify = post(
        Operation::VerifyV21,
        &[("access_token", token.access_token.expose_secret())],
    );
    expect(&mut line, later, &verify, refusal::ACCESS_TOKEN_EXPIRED);
}
