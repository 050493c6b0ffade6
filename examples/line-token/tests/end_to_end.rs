//! Every endpoint and flow, twice: in-process against the sans-IO emulator, and over real HTTP
//! on 127.0.0.1 with ureq against the `line-emulator` program.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::*;
use line_channel_token::emulator::Emulator;
use line_channel_token::*;
use support::transport;

const CHANNEL: &str = "1234567890";
const SECRET: &str = "s3cret&=+% ü";

fn now() -> UnixTime {
    UnixTime::from(SystemTime::now())
}

type Send<'a> = &'a mut dyn FnMut(http::Request<Vec<u8>>) -> http::Response<Vec<u8>>;

/// The whole story, through whichever transport `send` is.
fn all_flows(api: &ApiBase, send: Send<'_>, key: &SigningKey, kid: &str, long_lived: &str) {
    let secret = ChannelSecret::new(SECRET);
    let mut go = |req| -> http::Response<Vec<u8>> { send(req) };

    // Short-lived: issue, verify, revoke, verify again.
    let short = IssueShortLived::parse_response(&go(
        IssueShortLived::new(CHANNEL, &secret).to_request(api)
    ))
    .unwrap();
    assert_eq!(short.expires_in, 2_592_000);
    let info =
        Verify::parse_response(&go(Verify::new(&short.access_token).to_request(api))).unwrap();
    assert_eq!(info.client_id, CHANNEL);
    assert!(info.expires_in <= 2_592_000 && info.expires_in > 2_591_000);
    Revoke::parse_response(&go(Revoke::new(&short.access_token).to_request(api))).unwrap();
    let gone =
        Verify::parse_response(&go(Verify::new(&short.access_token).to_request(api))).unwrap_err();
    assert_eq!(
        gone.as_api().unwrap().error_description(),
        Some("access_token invalid")
    );
    // Revoking an unknown token is not an error.
    Revoke::parse_response(&go(
        Revoke::new(&AccessToken::new("unknown")).to_request(api)
    ))
    .unwrap();

    // Long-lived (Console-issued): verify reports its distant expiry.
    let ll = Verify::parse_response(&go(
        Verify::new(&AccessToken::new(long_lived)).to_request(api)
    ))
    .unwrap();
    assert!(ll.expires_in > u64::from(u32::MAX) / 2);

    // Stateless by secret and by assertion.
    let stateless = IssueStateless::parse_response(&go(IssueStateless::by_secret(
        CHANNEL, &secret,
    )
    .to_request(api)))
    .unwrap();
    assert_eq!(stateless.expires_in, 900);
    let plain = AssertionBuilder::new(CHANNEL, kid)
        .sign(key, now(), &mut OsRng)
        .unwrap();
    let stateless2 =
        IssueStateless::parse_response(&go(IssueStateless::by_assertion(&plain).to_request(api)))
            .unwrap();
    assert_ne!(stateless.access_token, stateless2.access_token);

    // v2.1: issue, verify, list key ids, revoke, list again.
    let with_exp = AssertionBuilder::new(CHANNEL, kid)
        .token_exp(Duration::from_secs(86_400))
        .sign(key, now(), &mut OsRng)
        .unwrap();
    let v21 =
        IssueV21::parse_response_with_info(&go(IssueV21::new(&with_exp).to_request(api))).unwrap();
    assert!(v21.request_id.is_some());
    let v21 = v21.value;
    assert_eq!(v21.expires_in, 86_400);
    let key_id = v21.key_id.clone().unwrap();
    let info =
        VerifyV21::parse_response(&go(VerifyV21::new(&v21.access_token).to_request(api))).unwrap();
    assert_eq!(info.client_id, CHANNEL);
    let kids = KeyIdsV21::parse_response(&go(KeyIdsV21::new(&plain).to_request(api))).unwrap();
    assert!(kids.contains(&key_id));
    RevokeV21::parse_response(&go(
        RevokeV21::new(CHANNEL, &secret, &v21.access_token).to_request(api)
    ))
    .unwrap();
    let kids = KeyIdsV21::parse_response(&go(KeyIdsV21::new(&plain).to_request(api))).unwrap();
    assert!(!kids.contains(&key_id));

    // Errors, in LINE's shapes, with request ids.
    let bad = ChannelSecret::new("wrong");
    let e =
        IssueShortLived::parse_response(&go(IssueShortLived::new(CHANNEL, &bad).to_request(api)))
            .unwrap_err();
    assert_eq!(
        e.as_api().unwrap().error_description(),
        Some("invalid client_secret")
    );
    assert!(e.request_id().is_some());
    let e = IssueV21::parse_response(&go(IssueV21::new(&plain).to_request(api))).unwrap_err();
    assert_eq!(
        e.as_api().unwrap().error_description(),
        Some("Invalid token_exp")
    );
    let stranger = AssertionBuilder::new(CHANNEL, "no-such-kid")
        .sign(key, now(), &mut OsRng)
        .unwrap();
    let e = KeyIdsV21::parse_response(&go(KeyIdsV21::new(&stranger).to_request(api))).unwrap_err();
    assert_eq!(e.status(), 404);
    assert_eq!(
        e.as_api().unwrap().message(),
        Some("Cannot find channel key that satisfies the conditions")
    );
    let wrong_channel = AssertionBuilder::new("999", kid)
        .sign(key, now(), &mut OsRng)
        .unwrap();
    let e = IssueStateless::parse_response(&go(
        IssueStateless::by_assertion(&wrong_channel).to_request(api)
    ))
    .unwrap_err();
    assert_eq!(
        e.as_api().unwrap().error_description(),
        Some("iss and clientId of key do not match")
    );
    let e = VerifyV21::parse_response(&go(
        VerifyV21::new(&AccessToken::new("opaque")).to_request(api)
    ))
    .unwrap_err();
    assert_eq!(
        e.as_api().unwrap().error_description(),
        Some("The access token not JWS")
    );
}

#[test]
fn all_flows_in_process() {
    let key = SigningKey::parse(PYJWT_DOCS_KEY).unwrap();
    let mut line = Emulator::with_seed(1);
    line.add_channel(CHANNEL, ChannelSecret::new(SECRET));
    let kid = line
        .register_public_key(CHANNEL, &key.public_jwk().to_json())
        .unwrap();
    let long_lived = line.issue_long_lived(CHANNEL).unwrap();
    let mut send = |req: http::Request<Vec<u8>>| line.handle(now(), &req);
    all_flows(&ApiBase::default(), &mut send, &key, &kid, &long_lived);
    for op in Operation::ALL {
        assert!(line.calls(op) > 0, "all_flows never calls {op:?}");
    }
}

#[test]
fn all_flows_over_http_on_loopback() {
    let key = SigningKey::parse(PYJWT_DOCS_KEY).unwrap();
    let dir = Scratch::new("e2e-http");
    let public = dir.write("public.json", key.public_jwk().to_json());
    let channel = format!("{CHANNEL}:{SECRET}");
    let server = EmulatorProcess::start(&[
        "--channel",
        &channel,
        "--public-key",
        public.to_str().unwrap(),
        "--long-lived",
    ]);
    let long_lived = server.lines[0]["long_lived_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid = server.lines[1]["kid"].as_str().unwrap().to_owned();
    let api = ApiBase::new(&server.base).unwrap();
    let agent = transport::loopback_agent();
    let mut send = |req| transport::send(&agent, req).expect("loopback HTTP works");
    all_flows(&api, &mut send, &key, &kid, &long_lived);
}

#[test]
fn the_emulator_enforces_lines_limits() {
    let key = SigningKey::parse(PYJWT_DOCS_KEY).unwrap();
    let mut line = Emulator::new();
    line.add_channel(CHANNEL, ChannelSecret::new(SECRET));
    let kid = line
        .register_public_key(CHANNEL, &key.public_jwk().to_json())
        .unwrap();
    let api = ApiBase::default();
    let t0 = UnixTime::from_secs(1_700_000_000);
    let secret = ChannelSecret::new(SECRET);

    // Short-lived: the 31st revokes the oldest.
    let mut tokens = Vec::new();
    for _ in 0..31 {
        let t = IssueShortLived::parse_response(
            &line.handle(t0, &IssueShortLived::new(CHANNEL, &secret).to_request(&api)),
        )
        .unwrap();
        tokens.push(t.access_token);
    }
    assert!(
        line.authorize(t0, tokens[0].expose_secret()).is_none(),
        "the oldest was revoked"
    );
    assert!(line.authorize(t0, tokens[1].expose_secret()).is_some());
    // And expires after 30 days.
    assert!(line
        .authorize(
            t0 + Duration::from_secs(2_592_000),
            tokens[30].expose_secret()
        )
        .is_none());

    // Stateless: valid 15 minutes, not revocable.
    let s = IssueStateless::parse_response(&line.handle(
        t0,
        &IssueStateless::by_secret(CHANNEL, &secret).to_request(&api),
    ))
    .unwrap();
    Revoke::parse_response(&line.handle(t0, &Revoke::new(&s.access_token).to_request(&api)))
        .unwrap();
    assert!(line
        .authorize(
            t0 + Duration::from_secs(899),
            s.access_token.expose_secret()
        )
        .is_some());
    assert!(line
        .authorize(
            t0 + Duration::from_secs(900),
            s.access_token.expose_secret()
        )
        .is_none());

    // v2.1 expiry: "The access token expired".
    let a = AssertionBuilder::new(CHANNEL, &kid)
        .token_exp(Duration::from_secs(60))
        .sign(&key, t0, &mut OsRng)
        .unwrap();
    let v =
        IssueV21::parse_response(&line.handle(t0, &IssueV21::new(&a).to_request(&api))).unwrap();
    let e = VerifyV21::parse_response(&line.handle(
        t0 + Duration::from_secs(61),
        &VerifyV21::new(&v.access_token).to_request(&api),
    ))
    .unwrap_err();
    assert_eq!(
        e.as_api().unwrap().error_description(),
        Some("The access token expired")
    );

    // Assertion rules: expired, too far ahead, wrong aud, tampered.
    let old = AssertionBuilder::new(CHANNEL, &kid)
        .ttl(Duration::from_secs(60))
        .sign(&key, t0, &mut OsRng)
        .unwrap();
    let e = KeyIdsV21::parse_response(&line.handle(
        t0 + Duration::from_secs(61),
        &KeyIdsV21::new(&old).to_request(&api),
    ))
    .unwrap_err();
    assert_eq!(e.as_api().unwrap().error_description(), Some("Invalid exp"));
    let future = AssertionBuilder::new(CHANNEL, &kid)
        .sign(&key, t0 + Duration::from_secs(3600), &mut OsRng)
        .unwrap();
    let e = KeyIdsV21::parse_response(&line.handle(t0, &KeyIdsV21::new(&future).to_request(&api)))
        .unwrap_err();
    assert_eq!(e.as_api().unwrap().error_description(), Some("Invalid exp"));
    let header = r#"{"alg":"RS256","typ":"JWT","kid":"KID"}"#.replace("KID", &kid);
    let claims = serde_json::json!({"iss": CHANNEL, "sub": CHANNEL, "aud": "https://api.line.me", "exp": t0.as_secs() + 60});
    let wrong_aud = jwt::sign_rs256(
        &serde_json::from_str::<serde_json::Value>(&header).unwrap(),
        &claims,
        &key,
        &mut OsRng,
    )
    .unwrap();
    let e =
        KeyIdsV21::parse_response(&line.handle(t0, &KeyIdsV21::new(&wrong_aud).to_request(&api)))
            .unwrap_err();
    assert_eq!(e.as_api().unwrap().error_description(), Some("Invalid aud"));
    let good = AssertionBuilder::new(CHANNEL, &kid)
        .sign(&key, t0, &mut OsRng)
        .unwrap();
    let mut parts: Vec<String> = good.expose_secret().split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let tampered = ClientAssertion::new(parts.join("."));
    let e =
        KeyIdsV21::parse_response(&line.handle(t0, &KeyIdsV21::new(&tampered).to_request(&api)))
            .unwrap_err();
    assert!(e.as_api().is_some());

    // The Console refuses a public key with a kid, and a private key.
    let mut with_kid: serde_json::Value =
        serde_json::from_str(&key.public_jwk().to_json()).unwrap();
    with_kid["kid"] = "x".into();
    assert!(line
        .register_public_key(CHANNEL, &with_kid.to_string())
        .is_err());
    assert!(line.register_public_key(CHANNEL, PYJWT_DOCS_KEY).is_err());
}

#[test]
fn the_emulator_answers_bad_requests_with_4xx_and_request_ids() {
    let mut line = Emulator::new();
    line.add_channel(CHANNEL, ChannelSecret::new(SECRET));
    let t0 = UnixTime::from_secs(1_700_000_000);
    let cases: Vec<(http::Request<Vec<u8>>, u16)> = vec![
        (http::Request::get("/nowhere").body(vec![]).unwrap(), 404),
        (http::Request::get("/v2/oauth/accessToken").body(vec![]).unwrap(), 405),
        (http::Request::post("/v2/oauth/accessToken").header("content-type", "application/json").body(b"{}".to_vec()).unwrap(), 400),
        (http::Request::post("/v2/oauth/accessToken").header("content-type", "application/x-www-form-urlencoded").body(vec![0xff, 0xfe]).unwrap(), 400),
        (http::Request::post("/v2/oauth/accessToken").header("content-type", "application/x-www-form-urlencoded").body(b"grant_type=password".to_vec()).unwrap(), 400),
        (http::Request::post("/oauth2/v2.1/token").header("content-type", "application/x-www-form-urlencoded").body(b"grant_type=client_credentials&client_assertion_type=x".to_vec()).unwrap(), 400),
        (http::Request::get("/oauth2/v2.1/tokens/kid?client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c").body(vec![]).unwrap(), 400),
        (http::Request::post("/oauth2/v2.1/revoke").header("content-type", "application/x-www-form-urlencoded").body(format!("client_id={CHANNEL}&client_secret=x&access_token=a").into_bytes()).unwrap(), 400),
    ];
    for (req, status) in cases {
        let uri = req.uri().clone();
        let r = line.handle(t0, &req);
        assert_eq!(r.status(), status, "{uri}");
        assert!(r.headers().contains_key("x-line-request-id"));
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert!(
            v.get("error").is_some() || v.get("message").is_some(),
            "{uri}: {v}"
        );
    }
}

#[test]
fn fault_injection_drives_the_cache_through_backoff() {
    use line_channel_token::cache::{drive, Credentials, TokenCache};
    let line = Arc::new(Mutex::new(Emulator::new()));
    line.lock()
        .unwrap()
        .add_channel(CHANNEL, ChannelSecret::new(SECRET));
    line.lock().unwrap().fail_next(
        Operation::IssueStateless,
        2,
        http::StatusCode::INTERNAL_SERVER_ERROR,
    );
    let mut cache = TokenCache::new(
        ApiBase::default(),
        Credentials::stateless_by_secret(CHANNEL, ChannelSecret::new(SECRET)),
    );
    let clock = std::cell::Cell::new(UnixTime::from_secs(1_700_000_000));
    let mut waits = Vec::new();
    // The driver reports each failure with its retry time; the caller comes back then.
    let token = loop {
        let send =
            |req| Ok::<_, std::convert::Infallible>(line.lock().unwrap().handle(clock.get(), &req));
        match drive(
            &mut cache,
            || clock.get(),
            |d| clock.set(clock.get() + d),
            send,
        ) {
            Ok(token) => break token,
            Err(e) => {
                waits.push(e.retry_at() - clock.get());
                clock.set(e.retry_at());
            }
        }
    };
    assert_eq!(waits.len(), 2, "two backoffs: {waits:?}");
    assert!(waits.iter().all(|w| *w <= Duration::from_secs(60)));
    assert_eq!(line.lock().unwrap().calls(Operation::IssueStateless), 3);
    assert!(line
        .lock()
        .unwrap()
        .authorize(clock.get(), token.expose_secret())
        .is_some());
}

#[test]
#[cfg_attr(
    no_line_bot_sdk,
    ignore = "needs Python with LINE's SDK: python3 -m pip install line-bot-sdk pyjwt cryptography"
)]
fn lines_official_python_sdk_completes_every_endpoint_against_line_emulator() {
    let python = python_with(&["linebot.v3.oauth", "jwt", "cryptography"]);
    let key = SigningKey::generate(&mut OsRng).unwrap();
    let dir = Scratch::new("python-sdk");
    let public = dir.write("public.json", key.public_jwk().to_json());
    let private = dir.write("private.json", key.to_private_jwk());
    let channel = format!("{CHANNEL}:{SECRET}");
    let server = EmulatorProcess::start(&[
        "--channel",
        &channel,
        "--public-key",
        public.to_str().unwrap(),
    ]);
    let kid = server.lines[0]["kid"].as_str().unwrap().to_owned();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/compat/line_bot_sdk.py");
    // Each operation's sample fields, with real credentials: the script calls the SDK with
    // them for any operation its flows do not call (a new one).
    let secret = ChannelSecret::new(SECRET);
    let assertion = AssertionBuilder::new(CHANNEL, &kid)
        .sign(&key, now(), &mut OsRng)
        .unwrap();
    let token = AccessToken::new("no-such-token");
    let inputs = emulator::SampleInputs {
        channel_id: CHANNEL,
        secret: &secret,
        token: &token,
        assertion: &assertion,
    };
    let samples = Operation::ALL.map(|op| {
        let request = emulator::sample_request(op, &inputs, &ApiBase::default());
        let fields = match request.uri().query() {
            Some(query) => query.to_owned(),
            None => String::from_utf8(request.into_body()).unwrap(),
        };
        format!("{}={fields}", op.line_operation_id())
    });
    let out = run(std::process::Command::new(python)
        .args([
            script,
            &server.base,
            CHANNEL,
            SECRET,
            &kid,
            private.to_str().unwrap(),
        ])
        .args(&samples));
    // The script prints the operationIds it completed: every operation, and nothing else.
    let mut every: Vec<&str> = Operation::ALL
        .into_iter()
        .map(Operation::line_operation_id)
        .collect();
    every.sort_unstable();
    assert_eq!(
        String::from_utf8_lossy(&out).trim(),
        format!("ok: {}", every.join(" "))
    );
}
