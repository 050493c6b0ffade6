//! The wire protocol, endpoint by endpoint, against LINE's spec
//! (`shared/reference/channel-access-token.yml`) and documented error bodies
//! (`shared/reference/line-docs-extracts.md`).

use line_channel_token::*;

const UA: &str = concat!("line-channel-token/", env!("CARGO_PKG_VERSION"));
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).expect("body is form-encoded")
}

fn query(req: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.uri().query().expect("has a query"))
        .expect("query is form-encoded")
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn assert_post(req: &http::Request<Vec<u8>>, path: &str) {
    assert_eq!(req.method(), http::Method::POST);
    assert_eq!(req.uri().to_string(), format!("https://api.line.me{path}"));
    assert_eq!(
        req.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(req.headers()["user-agent"], UA);
    assert!(req.headers().get("authorization").is_none());
    assert_eq!(req.headers().len(), 2, "{:?}", req.headers());
}

fn assert_get(req: &http::Request<Vec<u8>>, path: &str) {
    assert_eq!(req.method(), http::Method::GET);
    assert_eq!(req.uri().scheme_str(), Some("https"));
    assert_eq!(req.uri().host(), Some("api.line.me"));
    assert_eq!(req.uri().path(), path);
    assert!(req.body().is_empty());
    assert!(req.headers().get("content-type").is_none());
    assert!(req.headers().get("authorization").is_none());
    assert_eq!(req.headers()["user-agent"], UA);
}

fn response(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("x-line-request-id", "0f5b4c3e-req")
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

/// A secret with every character that percent-encoding must get right.
const NASTY: &str = "a&b=c+d%e f/ü\u{1F600}?#";

// ---- requests ----

#[test]
fn issue_short_lived_request() {
    let secret = ChannelSecret::new(NASTY);
    let req = IssueShortLived::new("1234567890", &secret).to_request(&ApiBase::default());
    assert_post(&req, "/v2/oauth/accessToken");
    assert_eq!(
        form(req.body()),
        pairs(&[
            ("grant_type", "client_credentials"),
            ("client_id", "1234567890"),
            ("client_secret", NASTY)
        ])
    );
}

#[test]
fn verify_request() {
    let token = AccessToken::new(NASTY);
    let req = Verify::new(&token).to_request(&ApiBase::default());
    assert_post(&req, "/v2/oauth/verify");
    assert_eq!(form(req.body()), pairs(&[("access_token", NASTY)]));
}

#[test]
fn revoke_request() {
    let token = AccessToken::new(NASTY);
    let req = Revoke::new(&token).to_request(&ApiBase::default());
    assert_post(&req, "/v2/oauth/revoke");
    assert_eq!(form(req.body()), pairs(&[("access_token", NASTY)]));
}

#[test]
fn issue_v2_1_request() {
    let jwt = ClientAssertion::new("eyJh.eyJp.c2ln-_");
    let req = IssueV21::new(&jwt).to_request(&ApiBase::default());
    assert_post(&req, "/oauth2/v2.1/token");
    assert_eq!(
        form(req.body()),
        pairs(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", "eyJh.eyJp.c2ln-_")
        ])
    );
}

#[test]
fn verify_v2_1_request() {
    let token = AccessToken::new(NASTY);
    let req = VerifyV21::new(&token).to_request(&ApiBase::default());
    assert_get(&req, "/oauth2/v2.1/verify");
    assert_eq!(query(&req), pairs(&[("access_token", NASTY)]));
}

#[test]
fn key_ids_v2_1_request() {
    let jwt = ClientAssertion::new("eyJh.eyJp.c2ln");
    let req = KeyIdsV21::new(&jwt).to_request(&ApiBase::default());
    assert_get(&req, "/oauth2/v2.1/tokens/kid");
    assert_eq!(
        query(&req),
        pairs(&[
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", "eyJh.eyJp.c2ln")
        ])
    );
}

#[test]
fn revoke_v2_1_request() {
    let secret = ChannelSecret::new(NASTY);
    let token = AccessToken::new("tok en");
    let req = RevokeV21::new("1234567890", &secret, &token).to_request(&ApiBase::default());
    assert_post(&req, "/oauth2/v2.1/revoke");
    assert_eq!(
        form(req.body()),
        pairs(&[
            ("client_id", "1234567890"),
            ("client_secret", NASTY),
            ("access_token", "tok en")
        ])
    );
}

#[test]
fn issue_stateless_requests() {
    let secret = ChannelSecret::new(NASTY);
    let req = IssueStateless::by_secret("1234567890", &secret).to_request(&ApiBase::default());
    assert_post(&req, "/oauth2/v3/token");
    assert_eq!(
        form(req.body()),
        pairs(&[
            ("grant_type", "client_credentials"),
            ("client_id", "1234567890"),
            ("client_secret", NASTY)
        ])
    );

    let jwt = ClientAssertion::new("h.p.s");
    let req = IssueStateless::by_assertion(&jwt).to_request(&ApiBase::default());
    assert_post(&req, "/oauth2/v3/token");
    assert_eq!(
        form(req.body()),
        pairs(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", "h.p.s")
        ])
    );
}

#[test]
fn base_with_path_prefix_is_honoured_by_every_endpoint() {
    let api = ApiBase::new("http://127.0.0.1:8080/line/proxy/").unwrap();
    let secret = ChannelSecret::new("s");
    let token = AccessToken::new("t");
    let jwt = ClientAssertion::new("j");
    let requests = [
        IssueShortLived::new("1", &secret).to_request(&api),
        Verify::new(&token).to_request(&api),
        Revoke::new(&token).to_request(&api),
        IssueV21::new(&jwt).to_request(&api),
        VerifyV21::new(&token).to_request(&api),
        KeyIdsV21::new(&jwt).to_request(&api),
        RevokeV21::new("1", &secret, &token).to_request(&api),
        IssueStateless::by_secret("1", &secret).to_request(&api),
    ];
    for (req, op) in requests.iter().zip(Operation::ALL) {
        assert_eq!(req.method(), op.method());
        assert_eq!(req.uri().authority().unwrap().as_str(), "127.0.0.1:8080");
        assert_eq!(req.uri().path(), format!("/line/proxy{}", op.path()));
    }
}

// ---- responses: the spec's examples ----

#[test]
fn spec_example_issue_stateless() {
    let r = response(
        200,
        r#"{"token_type":"Bearer","access_token":"eyJhbGciOiJIUz.....","expires_in":899}"#,
    );
    let t = IssueStateless::parse_response(&r).unwrap();
    assert_eq!(t.access_token.expose_secret(), "eyJhbGciOiJIUz.....");
    assert_eq!(
        (t.expires_in, t.token_type.as_str(), t.key_id.as_deref()),
        (899, "Bearer", None)
    );
    assert_eq!(
        t.expires_at(UnixTime::from_secs(1000)),
        UnixTime::from_secs(1899)
    );
}

#[test]
fn spec_example_key_ids() {
    let r = response(
        200,
        r#"{"kids":["U_gdnFYKTWRxxxxDVZexGg","sDTOzw5wIfWxxxxzcmeQA","73hDyp3PxGfxxxxD6U5qYA","FHGanaP79smDxxxxyPrVw","CguB-0kxxxxdSM3A5Q_UtQ","G82YP96jhHwyKSxxxx7IFA"]}"#,
    );
    let k = KeyIdsV21::parse_response(&r).unwrap();
    assert_eq!(k.kids.len(), 6);
    assert!(k.contains("CguB-0kxxxxdSM3A5Q_UtQ"));
    assert!(!k.contains("nope"));
}

#[test]
fn spec_example_issue_v2_1() {
    let r = response(
        200,
        r#"{"access_token":"eyJhbGciOiJIUz.....","token_type":"Bearer","expires_in":2592000,"key_id":"sDTOzw5wIfxxxxPEzcmeQA"}"#,
    );
    let info = IssueV21::parse_response_with_info(&r).unwrap();
    assert_eq!(info.value.expires_in, 2_592_000);
    assert_eq!(info.value.key_id.as_deref(), Some("sDTOzw5wIfxxxxPEzcmeQA"));
    assert_eq!(info.request_id.as_deref(), Some("0f5b4c3e-req"));
    assert_eq!(info.status, 200);
}

#[test]
fn issue_v2_1_without_key_id_is_a_decode_error() {
    let r = response(
        200,
        r#"{"access_token":"a","token_type":"Bearer","expires_in":1}"#,
    );
    let e = IssueV21::parse_response(&r).unwrap_err();
    let Error::Decode(d) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(d.operation(), Operation::IssueV21);
    assert!(e.to_string().contains("key_id"), "{e}");
    assert!(e.to_string().contains("issue v2.1 token"), "{e}");
}

#[test]
fn spec_example_verify_v2_1() {
    let r = response(
        200,
        r#"{"client_id":"1573163733","expires_in":2591659,"scope":"profile chat_message.write"}"#,
    );
    let v = VerifyV21::parse_response(&r).unwrap();
    assert_eq!(v.client_id, "1573163733");
    assert_eq!(v.expires_in, 2_591_659);
    assert_eq!(v.scope.as_deref(), Some("profile chat_message.write"));
}

#[test]
fn spec_example_issue_short_lived() {
    let r = response(
        200,
        r#"{"access_token":"W1TeHCgfH2Liwa.....","expires_in":2592000,"token_type":"Bearer"}"#,
    );
    let t = IssueShortLived::parse_response(&r).unwrap();
    assert_eq!(t.access_token.expose_secret(), "W1TeHCgfH2Liwa.....");
    assert_eq!(t.expires_in, 2_592_000);
}

#[test]
fn spec_example_verify_long_lived_exceeds_i32() {
    let r = response(
        200,
        r#"{"client_id":"1350031035","expires_in":3138007490,"scope":"P CM"}"#,
    );
    let v = Verify::parse_response(&r).unwrap();
    assert_eq!(v.expires_in, 3_138_007_490);
    assert_eq!(v.scope.as_deref(), Some("P CM"));
    let no_scope = response(200, r#"{"client_id":"1","expires_in":5}"#);
    assert_eq!(Verify::parse_response(&no_scope).unwrap().scope, None);
}

#[test]
fn revoke_accepts_empty_and_ignores_any_body() {
    assert_eq!(Revoke::parse_response(&response(200, "")), Ok(()));
    assert_eq!(RevokeV21::parse_response(&response(200, "{}")), Ok(()));
    assert_eq!(RevokeV21::parse_response(&response(200, "<html>")), Ok(()));
}

#[test]
fn unknown_fields_are_ignored() {
    let r = response(
        200,
        r#"{"access_token":"a","expires_in":900,"token_type":"Bearer","new_field":[1,{"x":null}]}"#,
    );
    assert_eq!(IssueStateless::parse_response(&r).unwrap().expires_in, 900);
}

#[test]
fn success_bodies_that_do_not_parse_are_decode_errors_naming_the_operation() {
    for body in [
        "",
        "not json",
        r#"{"access_token":"a"}"#,
        r#"{"access_token":1,"expires_in":1}"#,
        r#"{"access_token":"a","expires_in":-1}"#,
    ] {
        let e = IssueShortLived::parse_response(&response(200, body)).unwrap_err();
        assert!(matches!(e, Error::Decode(_)), "{body}: {e:?}");
        assert!(e.to_string().contains("issue short-lived token"), "{e}");
        assert_eq!(e.request_id(), Some("0f5b4c3e-req"));
        assert!(!e.is_retryable());
    }
}

// ---- responses: LINE's documented error bodies ----

fn api_error<E: Endpoint>(status: u16, body: &str) -> ApiError {
    match E::parse_response(&response(status, body)) {
        Err(Error::Api(e)) => e,
        other => panic!("expected an API error, got {:?}", other.is_ok()),
    }
}

#[test]
fn documented_oauth_error_bodies() {
    let cases: &[(Operation, u16, &str, &str, Option<&str>)] = &[
        (
            Operation::IssueShortLived,
            400,
            r#"{"error": "invalid_client", "error_description": "invalid client_id"}"#,
            "invalid_client",
            Some("invalid client_id"),
        ),
        (
            Operation::IssueShortLived,
            400,
            r#"{"error": "invalid_client", "error_description": "invalid client_secret"}"#,
            "invalid_client",
            Some("invalid client_secret"),
        ),
        (
            Operation::Verify,
            400,
            r#"{"error": "invalid_request", "error_description": "access_token invalid"}"#,
            "invalid_request",
            Some("access_token invalid"),
        ),
        (
            Operation::Verify,
            400,
            r#"{"error": "invalid_request", "error_description": "access_token in invalid format"}"#,
            "invalid_request",
            Some("access_token in invalid format"),
        ),
        (
            Operation::Revoke,
            400,
            r#"{"error": "invalid_request"}"#,
            "invalid_request",
            None,
        ),
        (
            Operation::IssueV21,
            400,
            r#"{"error": "invalid_client", "error_description": "iss and clientId of key do not match"}"#,
            "invalid_client",
            Some("iss and clientId of key do not match"),
        ),
        (
            Operation::VerifyV21,
            400,
            r#"{"error": "invalid_request", "error_description": "The access token expired"}"#,
            "invalid_request",
            Some("The access token expired"),
        ),
        (
            Operation::VerifyV21,
            400,
            r#"{"error": "invalid_request", "error_description": "The access token not JWS"}"#,
            "invalid_request",
            Some("The access token not JWS"),
        ),
        (
            Operation::KeyIdsV21,
            400,
            r#"{"error": "invalid_client", "error_description": "Invalid exp"}"#,
            "invalid_client",
            Some("Invalid exp"),
        ),
        (
            Operation::RevokeV21,
            400,
            r#"{"error": "invalid_request", "error_description": "The access token not JWS"}"#,
            "invalid_request",
            Some("The access token not JWS"),
        ),
        (
            Operation::RevokeV21,
            400,
            r#"{"error": "invalid_request", "error_description": "The access token malformed"}"#,
            "invalid_request",
            Some("The access token malformed"),
        ),
        (
            Operation::IssueStateless,
            400,
            r#"{"error": "invalid_request", "error_description": "Invalid 'client_credentials'."}"#,
            "invalid_request",
            Some("Invalid 'client_credentials'."),
        ),
    ];
    for (op, status, body, error, description) in cases {
        let e = parse_as(*op, *status, body);
        assert_eq!(e.operation(), *op);
        assert_eq!(e.status(), *status);
        assert_eq!(e.error(), Some(*error), "{body}");
        assert_eq!(e.error_description(), *description, "{body}");
        assert_eq!(e.message(), None);
        assert_eq!(e.request_id(), Some("0f5b4c3e-req"));
        assert!(!e.is_retryable());
        let shown = e.to_string();
        assert!(
            shown.contains(error) && shown.contains("HTTP 400") && shown.contains("0f5b4c3e-req"),
            "{shown}"
        );
    }
}

#[test]
fn documented_message_error_bodies() {
    let cases: &[(Operation, u16, &str)] = &[
        (
            Operation::IssueV21,
            400,
            "The maximum number of access tokens has already been issued",
        ),
        (
            Operation::IssueV21,
            404,
            "Cannot find channel key that satisfies the conditions",
        ),
        (
            Operation::KeyIdsV21,
            404,
            "Cannot find channel key that satisfies the conditions",
        ),
        (
            Operation::IssueStateless,
            404,
            "Cannot find channel key that satisfies the conditions",
        ),
    ];
    for (op, status, message) in cases {
        let e = parse_as(*op, *status, &format!(r#"{{"message": "{message}"}}"#));
        assert_eq!(e.message(), Some(*message));
        assert_eq!(e.error(), None);
        assert!(e.details().is_empty());
        assert!(e.to_string().contains(message));
    }
}

#[test]
fn error_display_tells_the_user_what_to_do() {
    let bad_secret = api_error::<IssueShortLived>(
        400,
        r#"{"error":"invalid_client","error_description":"invalid client_secret"}"#,
    );
    assert!(
        bad_secret
            .to_string()
            .contains("check the channel ID and channel secret"),
        "{bad_secret}"
    );
    let too_many = api_error::<IssueV21>(
        400,
        r#"{"message":"The maximum number of access tokens has already been issued"}"#,
    );
    assert!(too_many.to_string().contains("revoke unused"), "{too_many}");
    let no_key = api_error::<KeyIdsV21>(
        404,
        r#"{"message":"Cannot find channel key that satisfies the conditions"}"#,
    );
    assert!(no_key.to_string().contains("check the kid"), "{no_key}");
    let exp = api_error::<KeyIdsV21>(
        400,
        r#"{"error":"invalid_client","error_description":"Invalid exp"}"#,
    );
    assert!(exp.to_string().contains("sign a fresh one"), "{exp}");
    let rate = api_error::<IssueShortLived>(429, "");
    assert!(rate.is_retryable());
    assert!(rate.to_string().contains("retry later"), "{rate}");
}

#[test]
fn message_details_are_kept() {
    let e = api_error::<IssueV21>(
        400,
        r#"{"message":"The request body has 1 error(s)","details":[{"message":"must be specified","property":"client_assertion"},{}]}"#,
    );
    assert_eq!(e.details().len(), 2);
    assert_eq!(e.details()[0].property.as_deref(), Some("client_assertion"));
    assert!(e
        .to_string()
        .contains("client_assertion: must be specified"));
}

#[test]
fn non_json_error_bodies_keep_status_and_a_bounded_excerpt() {
    let html = format!(
        "<html><body><h1>502 Bad Gateway</h1>{}</body></html>",
        "x".repeat(5000)
    );
    let e = api_error::<Verify>(502, &html);
    assert!(e.is_retryable());
    let ErrorBody::Unrecognized { excerpt } = e.body() else {
        panic!()
    };
    assert!(excerpt.starts_with("<html><body><h1>502 Bad Gateway"));
    assert!(excerpt.len() <= ErrorBody::EXCERPT_LIMIT);
    assert!(e.to_string().contains("HTTP 502"));
    let empty = api_error::<Verify>(503, "");
    assert!(empty.to_string().contains("empty body"), "{empty}");
}

#[test]
fn request_id_is_optional() {
    let r = http::Response::builder()
        .status(500)
        .body(Vec::new())
        .unwrap();
    let e = Verify::parse_response(&r).unwrap_err();
    assert_eq!(e.request_id(), None);
    assert_eq!(e.status(), 500);
}

fn parse_as(op: Operation, status: u16, body: &str) -> ApiError {
    match op {
        Operation::IssueShortLived => api_error::<IssueShortLived>(status, body),
        Operation::Verify => api_error::<Verify>(status, body),
        Operation::Revoke => api_error::<Revoke>(status, body),
        Operation::IssueV21 => api_error::<IssueV21>(status, body),
        Operation::VerifyV21 => api_error::<VerifyV21>(status, body),
        Operation::KeyIdsV21 => api_error::<KeyIdsV21>(status, body),
        Operation::RevokeV21 => api_error::<RevokeV21>(status, body),
        Operation::IssueStateless => api_error::<IssueStateless>(status, body),
        _ => unreachable!("all eight are listed"),
    }
}

// ---- the generic adapter ----

#[test]
fn call_runs_any_endpoint_through_a_closure_and_separates_transport_errors() {
    let api = ApiBase::default();
    let token = AccessToken::new("t");
    let ok = call(&api, &Verify::new(&token), |req| {
        assert_eq!(req.uri().path(), "/v2/oauth/verify");
        Ok::<_, String>(response(200, r#"{"client_id":"1","expires_in":2}"#))
    });
    assert_eq!(ok.unwrap().client_id, "1");

    let transport = call(&api, &Verify::new(&token), |_| {
        Err::<http::Response<Vec<u8>>, _>("dns failure".to_string())
    });
    let e = transport.unwrap_err();
    assert!(matches!(e, CallError::Transport(ref s) if s == "dns failure"));
    assert!(e.is_retryable());

    let protocol = call(&api, &Verify::new(&token), |_| {
        Ok::<_, String>(response(400, r#"{"error":"invalid_request"}"#))
    });
    assert!(matches!(protocol, Err(CallError::Protocol(Error::Api(_)))));
}

#[test]
fn secrets_never_reach_debug_output_of_operations() {
    let secret = ChannelSecret::new("hunter2-secret");
    let token = AccessToken::new("hunter2-token");
    let jwt = ClientAssertion::new("hunter2-jwt");
    let shown = format!(
        "{:?}{:?}{:?}{:?}",
        IssueShortLived::new("1", &secret),
        RevokeV21::new("1", &secret, &token),
        IssueStateless::by_assertion(&jwt),
        IssueV21::new(&jwt)
    );
    assert!(!shown.contains("hunter2"), "{shown}");
}
