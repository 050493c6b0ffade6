//! Helpers for the wire tests (`wire_requests`, `wire_responses`, `wire_errors`): what LINE's
//! spec says every request looks like, and responses as LINE sends them.

use line_channel_token::*;

pub const UA: &str = concat!("line-channel-token/", env!("CARGO_PKG_VERSION"));
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).expect("body is form-encoded")
}

pub fn query(req: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.uri().query().expect("has a query"))
        .expect("query is form-encoded")
}

pub fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn assert_post(req: &http::Request<Vec<u8>>, path: &str) {
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

pub fn assert_get(req: &http::Request<Vec<u8>>, path: &str) {
    assert_eq!(req.method(), http::Method::GET);
    assert_eq!(req.uri().scheme_str(), Some("https"));
    assert_eq!(req.uri().host(), Some("api.line.me"));
    assert_eq!(req.uri().path(), path);
    assert!(req.body().is_empty());
    assert!(req.headers().get("content-type").is_none());
    assert!(req.headers().get("authorization").is_none());
    assert_eq!(req.headers()["user-agent"], UA);
}

pub fn response(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("x-line-request-id", "0f5b4c3e-req")
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

/// A secret with every character that percent-encoding must get right.
pub const NASTY: &str = "a&b=c+d%e f/ü\u{1F600}?#";

/// The [`ApiError`] the parser of `E` makes of `status` and `body`.
pub fn api_error<E: Endpoint>(status: u16, body: &str) -> ApiError {
    match E::parse_response(&response(status, body)) {
        Err(Error::Api(e)) => e,
        other => panic!("expected an API error, got {:?}", other.is_ok()),
    }
}

/// The [`ApiError`] `op`'s parser makes of this response.
pub fn parse_as(op: Operation, status: u16, body: &str) -> ApiError {
    match line_channel_token::emulator::parse_response_as(op, &response(status, body)) {
        Err(Error::Api(e)) => e,
        other => panic!("{op:?}: expected an API error, got {:?}", other.is_ok()),
    }
}
