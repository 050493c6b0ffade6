//! The wire protocol: one value per LINE endpoint, turned into an `http::Request` and parsed back
//! from an `http::Response`.
//!
//! Every endpoint implements [`Endpoint`]. The crate does no I/O: send the request with any
//! client and hand the response back. [`call`] and [`call_async`] do exactly that with a closure,
//! so one small adapter runs every endpoint on any client.

use std::fmt;
use std::future::Future;

use http::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::protocol::api_base::ApiBase;
use crate::protocol::error::{ApiError, DecodeError, Error, ErrorBody, ErrorDetail};

mod issue_short_lived;
mod issue_stateless;
mod issue_v2_1;
mod key_ids_v2_1;
mod revoke;
mod revoke_v2_1;
mod verify;
mod verify_v2_1;

pub use issue_short_lived::IssueShortLived;
pub use issue_stateless::IssueStateless;
pub use issue_v2_1::IssueV21;
pub use key_ids_v2_1::KeyIdsV21;
pub use revoke::Revoke;
pub use revoke_v2_1::RevokeV21;
pub use verify::Verify;
pub use verify_v2_1::VerifyV21;

pub use crate::facts::CLIENT_ASSERTION_TYPE;

/// The `User-Agent` every request carries.
pub const USER_AGENT_VALUE: &str = concat!("line-channel-token/", env!("CARGO_PKG_VERSION"));

/// The request-id header LINE puts on every response.
pub const REQUEST_ID_HEADER: &str = "x-line-request-id";

/// The eight channel access token operations, by LINE's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `POST /v2/oauth/accessToken`: issue a short-lived token (30 days).
    IssueShortLived,
    /// `POST /v2/oauth/verify`: verify a short-lived or long-lived token.
    Verify,
    /// `POST /v2/oauth/revoke`: revoke a short-lived or long-lived token.
    Revoke,
    /// `POST /oauth2/v2.1/token`: issue a v2.1 token with a JWT assertion.
    IssueV21,
    /// `GET /oauth2/v2.1/verify`: verify a v2.1 token.
    VerifyV21,
    /// `GET /oauth2/v2.1/tokens/kid`: the key ids of all valid v2.1 tokens.
    KeyIdsV21,
    /// `POST /oauth2/v2.1/revoke`: revoke a v2.1 token.
    RevokeV21,
    /// `POST /oauth2/v3/token`: issue a stateless token (15 minutes).
    IssueStateless,
}

impl Operation {
    /// All eight, in LINE's reference order.
    pub const ALL: [Operation; 8] = [
        Operation::IssueShortLived,
        Operation::Verify,
        Operation::Revoke,
        Operation::IssueV21,
        Operation::VerifyV21,
        Operation::KeyIdsV21,
        Operation::RevokeV21,
        Operation::IssueStateless,
    ];

    /// The HTTP method.
    pub fn method(self) -> Method {
        match self {
            Operation::VerifyV21 | Operation::KeyIdsV21 => Method::GET,
            _ => Method::POST,
        }
    }

    /// The path below the API base.
    pub fn path(self) -> &'static str {
        match self {
            Operation::IssueShortLived => "/v2/oauth/accessToken",
            Operation::Verify => "/v2/oauth/verify",
            Operation::Revoke => "/v2/oauth/revoke",
            Operation::IssueV21 => "/oauth2/v2.1/token",
            Operation::VerifyV21 => "/oauth2/v2.1/verify",
            Operation::KeyIdsV21 => "/oauth2/v2.1/tokens/kid",
            Operation::RevokeV21 => "/oauth2/v2.1/revoke",
            Operation::IssueStateless => "/oauth2/v3/token",
        }
    }

    /// The `operationId` in LINE's OpenAPI spec (and the official SDKs' method names).
    pub fn line_operation_id(self) -> &'static str {
        match self {
            Operation::IssueShortLived => "issueChannelToken",
            Operation::Verify => "verifyChannelToken",
            Operation::Revoke => "revokeChannelToken",
            Operation::IssueV21 => "issueChannelTokenByJWT",
            Operation::VerifyV21 => "verifyChannelTokenByJWT",
            Operation::KeyIdsV21 => "getsAllValidChannelAccessTokenKeyIds",
            Operation::RevokeV21 => "revokeChannelTokenByJWT",
            Operation::IssueStateless => "issueStatelessChannelToken",
        }
    }

    /// Which operation a method and path name (the inverse of [`Operation::method`] and
    /// [`Operation::path`]), for servers and test doubles.
    pub fn from_route(method: &Method, path: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|op| op.path() == path && op.method() == *method)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::IssueShortLived => "issue short-lived token",
            Operation::Verify => "verify token",
            Operation::Revoke => "revoke token",
            Operation::IssueV21 => "issue v2.1 token",
            Operation::VerifyV21 => "verify v2.1 token",
            Operation::KeyIdsV21 => "list v2.1 key ids",
            Operation::RevokeV21 => "revoke v2.1 token",
            Operation::IssueStateless => "issue stateless token",
        })
    }
}

mod sealed {
    pub trait Sealed {}
}

/// One LINE channel access token endpoint: a request builder and its response parser.
///
/// Data flows one way: [`Endpoint::to_request`] -> your HTTP client -> [`Endpoint::parse_response`].
///
/// ```
/// use line_channel_token::{ApiBase, AccessToken, Endpoint, Verify};
///
/// let token = AccessToken::new("W1TeHCgfH2Liwa");
/// let request = Verify::new(&token).to_request(&ApiBase::default());
/// assert_eq!(request.uri(), "https://api.line.me/v2/oauth/verify");
///
/// // ... send it with any client, then:
/// let response = http::Response::builder()
///     .status(200)
///     .header("x-line-request-id", "req-1")
///     .body(br#"{"client_id":"1350031035","expires_in":3138007490,"scope":"P CM"}"#)
///     .unwrap();
/// let info = Verify::parse_response(&response).unwrap();
/// assert_eq!(info.client_id, "1350031035");
/// assert_eq!(info.expires_in, 3_138_007_490);
/// ```
pub trait Endpoint: sealed::Sealed {
    /// The typed result of a successful call.
    type Output;

    /// Which of the eight operations this is.
    const OPERATION: Operation;

    /// The request, exactly as LINE's official SDKs send it. Never fails: the base was checked
    /// when the [`ApiBase`] was made, and every field is percent-encoded.
    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>>;

    /// Parses LINE's answer: the typed output on 2xx, a typed [`Error`] otherwise.
    /// Never panics, whatever the status, headers or bytes.
    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<Self::Output, Error>;

    /// [`Endpoint::parse_response`] plus the status and `X-Line-Request-Id` of the response
    /// (the official SDKs' "with HTTP info" variants).
    fn parse_response_with_info<B: AsRef<[u8]>>(
        response: &Response<B>,
    ) -> Result<WithHttpInfo<Self::Output>, Error> {
        let value = Self::parse_response(response)?;
        Ok(WithHttpInfo {
            value,
            status: response.status(),
            request_id: request_id(response).map(str::to_owned),
        })
    }
}

/// A successful output with the HTTP details of its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithHttpInfo<T> {
    /// The typed output.
    pub value: T,
    /// The HTTP status (2xx).
    pub status: StatusCode,
    /// The `X-Line-Request-Id` header, if present.
    pub request_id: Option<String>,
}

/// The `X-Line-Request-Id` of any response, if present and printable.
pub fn request_id<B>(response: &Response<B>) -> Option<&str> {
    response
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
}

/// A failed [`call`]: either your transport failed (no response at all) or LINE's response was
/// an error.
#[derive(Debug)]
pub enum CallError<T> {
    /// The HTTP client could not get a response (DNS, TLS, connection, timeout).
    Transport(T),
    /// A response came back but was an error or did not parse.
    Protocol(Error),
}

impl<T> CallError<T> {
    /// Transport failures and retryable protocol errors (429, 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Transport(_) => true,
            CallError::Protocol(e) => e.is_retryable(),
        }
    }
}

impl<T: fmt::Display> fmt::Display for CallError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Transport(e) => write!(f, "could not reach the LINE API: {e}"),
            CallError::Protocol(e) => e.fmt(f),
        }
    }
}

impl<T: std::error::Error + 'static> std::error::Error for CallError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Transport(e) => Some(e),
            CallError::Protocol(e) => Some(e),
        }
    }
}

/// Runs an endpoint on any blocking HTTP client: `send` turns a request into a response.
///
/// ```
/// use line_channel_token::{call, ApiBase, Endpoint, IssueStateless, ChannelSecret};
///
/// let secret = ChannelSecret::new("s3cret");
/// let op = IssueStateless::by_secret("1234567890", &secret);
/// // A stand-in transport; with ureq 3 this is `|req| agent.run(req)` plus reading the body.
/// let token = call(&ApiBase::default(), &op, |req| {
///     assert_eq!(req.uri().path(), "/oauth2/v3/token");
///     Ok::<_, std::io::Error>(http::Response::new(
///         br#"{"token_type":"Bearer","access_token":"eyJhbGciOiJIUz.....","expires_in":899}"#,
///     ))
/// })
/// .unwrap();
/// assert_eq!(token.expires_in, 899);
/// ```
pub fn call<E, F, B, T>(api: &ApiBase, endpoint: &E, send: F) -> Result<E::Output, CallError<T>>
where
    E: Endpoint,
    F: FnOnce(Request<Vec<u8>>) -> Result<Response<B>, T>,
    B: AsRef<[u8]>,
{
    let response = send(endpoint.to_request(api)).map_err(CallError::Transport)?;
    E::parse_response(&response).map_err(CallError::Protocol)
}

/// [`call`] for async clients: `send` returns a future. No runtime is involved; the crate only
/// awaits your future.
///
/// ```
/// # async fn demo() {
/// use line_channel_token::{call_async, ApiBase, AccessToken, Revoke};
/// let token = AccessToken::new("W1TeHCgfH2Liwa");
/// call_async(&ApiBase::default(), &Revoke::new(&token), |req| async move {
///     // e.g. reqwest: convert `req`, send, collect the body into an `http::Response<Vec<u8>>`
///     Ok::<_, std::io::Error>(http::Response::new(Vec::new()))
/// })
/// .await
/// .unwrap();
/// # }
/// ```
pub async fn call_async<E, F, Fut, B, T>(
    api: &ApiBase,
    endpoint: &E,
    send: F,
) -> Result<E::Output, CallError<T>>
where
    E: Endpoint,
    F: FnOnce(Request<Vec<u8>>) -> Fut,
    Fut: Future<Output = Result<Response<B>, T>>,
    B: AsRef<[u8]>,
{
    let response = send(endpoint.to_request(api))
        .await
        .map_err(CallError::Transport)?;
    E::parse_response(&response).map_err(CallError::Protocol)
}

// ---- request building (shared by the endpoint files) ----

const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// `application/x-www-form-urlencoded` encoding of name/value pairs, as browsers and LINE's
/// SDKs produce it: alphanumerics and `*-._` as they are, space as `+`, every other byte `%XX`.
pub(crate) fn form_encode(fields: &[(&str, &str)]) -> String {
    let len = fields
        .iter()
        .map(|(k, v)| k.len() + v.len() + 2)
        .sum::<usize>();
    let mut out = String::with_capacity(len + len / 2);
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(name, &mut out);
        out.push('=');
        encode_component(value, &mut out);
    }
    out
}

fn encode_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
}

pub(crate) fn build_request(
    api: &ApiBase,
    op: Operation,
    fields: &[(&str, &str)],
) -> Request<Vec<u8>> {
    let encoded = form_encode(fields);
    let (query, body) = if op.method() == Method::GET {
        (Some(encoded), Vec::new())
    } else {
        (None, encoded.into_bytes())
    };
    let mut request = Request::new(body);
    *request.method_mut() = op.method();
    // ApiBase::new proved that base + path + a form-encoded query always parses.
    if let Some(uri) = api.uri(op.path(), query.as_deref()) {
        *request.uri_mut() = uri;
    }
    let headers = request.headers_mut();
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    if op.method() == Method::POST {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE));
    }
    request
}

// ---- response parsing (shared by the endpoint files) ----

/// 2xx: `Ok(body)`; anything else: the API error.
fn check_status<B: AsRef<[u8]>>(op: Operation, response: &Response<B>) -> Result<&[u8], Error> {
    let body = response.body().as_ref();
    if response.status().is_success() {
        return Ok(body);
    }
    Err(Error::Api(ApiError {
        operation: op,
        status: response.status(),
        request_id: request_id(response).map(str::to_owned),
        body: parse_error_body(body),
    }))
}

pub(crate) fn parse_json<T: DeserializeOwned, B: AsRef<[u8]>>(
    op: Operation,
    response: &Response<B>,
) -> Result<T, Error> {
    let body = check_status(op, response)?;
    serde_json::from_slice(body).map_err(|e| decode_error(op, response, e.to_string()))
}

pub(crate) fn decode_error<B>(op: Operation, response: &Response<B>, reason: String) -> Error {
    Error::Decode(DecodeError {
        operation: op,
        status: response.status(),
        request_id: request_id(response).map(str::to_owned),
        reason,
    })
}

/// Revoke endpoints answer 200 with an empty body; whatever body comes is ignored.
pub(crate) fn parse_empty<B: AsRef<[u8]>>(
    op: Operation,
    response: &Response<B>,
) -> Result<(), Error> {
    check_status(op, response).map(|_| ())
}

#[derive(serde::Deserialize)]
struct RawErrorBody {
    error: Option<serde_json::Value>,
    error_description: Option<serde_json::Value>,
    message: Option<serde_json::Value>,
    #[serde(default)]
    details: Option<Vec<serde_json::Value>>,
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Classifies an error body into one of LINE's two shapes, or keeps a bounded excerpt.
pub(crate) fn parse_error_body(body: &[u8]) -> ErrorBody {
    if let Ok(raw) = serde_json::from_slice::<RawErrorBody>(body) {
        if let Some(error) = raw.error.as_ref().filter(|v| !v.is_null()) {
            return ErrorBody::OAuth {
                error: json_text(error),
                error_description: raw
                    .error_description
                    .as_ref()
                    .filter(|v| !v.is_null())
                    .map(json_text),
            };
        }
        if let Some(message) = raw.message.as_ref().filter(|v| !v.is_null()) {
            let details = raw
                .details
                .unwrap_or_default()
                .iter()
                .map(|d| ErrorDetail {
                    message: d.get("message").filter(|v| !v.is_null()).map(json_text),
                    property: d.get("property").filter(|v| !v.is_null()).map(json_text),
                })
                .collect();
            return ErrorBody::Message {
                message: json_text(message),
                details,
            };
        }
    }
    ErrorBody::Unrecognized {
        excerpt: excerpt(body, ErrorBody::EXCERPT_LIMIT),
    }
}

/// At most `limit` bytes of `body`, cut at a character boundary, invalid UTF-8 replaced.
fn excerpt(body: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(limit)]);
    let mut out: String = text.into_owned();
    while out.len() > limit {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_route(&op.method(), op.path()), Some(op));
        }
        assert_eq!(
            Operation::from_route(&Method::GET, "/v2/oauth/verify"),
            None
        );
    }

    #[test]
    fn excerpt_is_bounded_and_lossy() {
        let long = "é".repeat(300);
        let e = excerpt(long.as_bytes(), 256);
        assert!(e.len() <= 256);
        assert!(e.starts_with("éé"));
        assert_eq!(excerpt(&[0xff, b'a'], 10), "\u{fffd}a");
    }

    #[test]
    fn form_encoding_matches_serde_urlencoded() {
        let fields = [("client_secret", "a b&c=d+e%f/é*~"), ("k y", "")];
        let theirs = serde_urlencoded::to_string(fields).unwrap();
        assert_eq!(form_encode(&fields), theirs);
        assert_eq!(
            form_encode(&fields),
            "client_secret=a+b%26c%3Dd%2Be%25f%2F%C3%A9*%7E&k+y="
        );
    }
}
