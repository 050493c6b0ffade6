//! Bytes on the wire, shared by every endpoint file: building the `http::Request` from an
//! endpoint's form, and turning an `http::Response` into a typed value or an [`Error`].

use http::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::protocol::api_base::ApiBase;
use crate::protocol::error::{ApiError, DecodeError, Error};
use crate::protocol::error_body::ErrorBody;
use crate::protocol::operation::Operation;

/// The `User-Agent` every request carries.
pub const USER_AGENT_VALUE: &str = concat!("line-channel-token/", env!("CARGO_PKG_VERSION"));

/// The request-id header LINE puts on every response.
pub const REQUEST_ID_HEADER: &str = "x-line-request-id";

/// The media type of every request form (the spec's `requestBody` content type).
pub(crate) const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The `X-Line-Request-Id` of any response, if present and printable.
///
/// ```
/// let response = http::Response::builder()
///     .header("x-line-request-id", "abc-123")
///     .body(())
///     .unwrap();
/// assert_eq!(line_channel_token::request_id(&response), Some("abc-123"));
/// ```
pub fn request_id<B>(response: &Response<B>) -> Option<&str> {
    response
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
}

/// The request for `op` carrying `form`: in the body of a POST, in the query of a GET.
///
/// `form` is a flat struct of string fields, encoded by `serde_urlencoded` in field order
/// exactly as LINE's SDKs encode it (alphanumerics and `*-._` as they are, space as `+`, every
/// other byte `%XX`). This is the only place a request body is allocated.
pub(crate) fn build_request<F: Serialize>(
    api: &ApiBase,
    op: Operation,
    form: &F,
) -> Request<Vec<u8>> {
    // A flat struct of `&str` fields is always serializable: `serde_urlencoded` fails only on
    // nested values, which no endpoint form has (every endpoint's doctest pins its bytes).
    let encoded = serde_urlencoded::to_string(form).unwrap_or_default();
    let is_get = op.method() == Method::GET;
    let (query, body) = if is_get {
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
    if !is_get {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE));
    }
    request
}

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
        body: ErrorBody::parse(body),
    }))
}

/// The JSON output of a 2xx response, or the error.
pub(crate) fn parse_json<T: DeserializeOwned, B: AsRef<[u8]>>(
    op: Operation,
    response: &Response<B>,
) -> Result<T, Error> {
    let body = check_status(op, response)?;
    serde_json::from_slice(body).map_err(|e| decode_error(op, response, e.to_string()))
}

/// A 2xx response whose body is not what `op` documents.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Form<'a> {
        client_secret: &'a str,
        #[serde(rename = "k y")]
        ky: &'a str,
    }

    #[test]
    fn forms_encode_as_lines_sdks_do() {
        let form = Form {
            client_secret: "a b&c=d+e%f/é*~",
            ky: "",
        };
        let request = build_request(&ApiBase::default(), Operation::Revoke, &form);
        assert_eq!(
            request.body(),
            b"client_secret=a+b%26c%3Dd%2Be%25f%2F%C3%A9*%7E&k+y="
        );
        let request = build_request(&ApiBase::default(), Operation::VerifyV21, &form);
        assert!(request.body().is_empty());
        assert_eq!(
            request.uri().query(),
            Some("client_secret=a+b%26c%3Dd%2Be%25f%2F%C3%A9*%7E&k+y=")
        );
    }
}
