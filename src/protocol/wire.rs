//! Bytes on the wire, shared by every endpoint file: building the `http::Request` from an
//! endpoint's form, and turning an `http::Response` into a typed value or an [`Error`].

use http::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::facts::REQUEST_ID_HEADER;
use crate::protocol::api_base::ApiBase;
use crate::protocol::error::{ApiError, DecodeError, Error};
use crate::protocol::error_body::ErrorBody;
use crate::protocol::operation::Operation;
use crate::protocol::redact::redact;

/// The `User-Agent` every request carries: this crate and its version. Not public: a caller
/// needs nothing from it, and its spelling is no promise.
const USER_AGENT_VALUE: &str = concat!("line-channel-token/", env!("CARGO_PKG_VERSION"));

/// The media type of every request form (the spec's `requestBody` content type).
pub(crate) const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The `X-Line-Request-Id` of any response, if present and printable.
///
/// A server sets this header, and a hostile one may echo a secret in it: an id in the shape
/// LINE's have (hex digits and dashes, at most 64) is returned as it is, anything else with
/// its credential-like runs replaced by `[redacted]`, as error bodies are.
///
/// ```
/// use line_channel_token::http;
/// let response = |id: &str| {
///     http::Response::builder().header("x-line-request-id", id).body(()).unwrap()
/// };
/// let id = "3f0c1b6e-96a1-4b1c-8c39-2a3a9f9c1d2e";
/// assert_eq!(line_channel_token::request_id(&response(id)).as_deref(), Some(id));
/// let echo = "client_secret=0123456789abcdef0123456789abcdef";
/// assert_eq!(line_channel_token::request_id(&response(echo)).as_deref(), Some("[redacted]"));
/// ```
pub fn request_id<B>(response: &Response<B>) -> Option<String> {
    let id = response.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let lines_shape = id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    Some(if lines_shape {
        id.to_owned()
    } else {
        redact(id)
    })
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
        request_id: request_id(response),
        body: ErrorBody::parse(body),
    }))
}

/// The JSON output of a 2xx response, or the error.
pub(crate) fn parse_json<T: DeserializeOwned, B: AsRef<[u8]>>(
    op: Operation,
    response: &Response<B>,
) -> Result<T, Error> {
    let body = check_status(op, response)?;
    serde_json::from_slice(body).map_err(|e| decode_error(op, response, reason(body, &e)))
}

/// Why `body` is not what LINE documents, in words of the crate's own: the field and the type
/// LINE documents for it, or where the JSON breaks. serde's own message quotes the mistyped
/// value, and a server may have echoed a secret into it.
fn reason(body: &[u8], error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", error.line(), error.column());
    match error.classify() {
        Category::Eof => return format!("the JSON ends early ({at})"),
        Category::Syntax | Category::Io => return format!("the body is not JSON ({at})"),
        Category::Data => {}
    }
    let message = error.to_string();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        return format!("missing field `{}`", field_name(field).unwrap_or("?"));
    }
    let expected = message
        .split_once(", expected ")
        .map(|(_, e)| e.split(" at line ").next().unwrap_or(e))
        .filter(|e| {
            e.len() <= 60
                && e.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " `,_".contains(c))
        })
        .unwrap_or("another type");
    match key_before(body, error.line(), error.column()) {
        Some(field) => format!("field `{field}` is not {expected}"),
        None => format!("the JSON is not what LINE documents (expected {expected})"),
    }
}

/// The last object key before `line`:`column` (where serde stopped, just after the value it
/// could not take), if it is a plain field name: the field at fault.
fn key_before(body: &[u8], line: usize, column: usize) -> Option<&str> {
    let line_start: usize = body
        .split_inclusive(|&b| b == b'\n')
        .take(line.saturating_sub(1))
        .map(<[u8]>::len)
        .sum();
    let end = (line_start + column).min(body.len());
    let head = body.get(..end)?;
    // Each `:` outside the value, read backwards: `"name" :`.
    head.iter()
        .enumerate()
        .rev()
        .filter(|(_, &b)| b == b':')
        .find_map(|(colon, _)| {
            let before = head[..colon].trim_ascii_end();
            let before = before.strip_suffix(b"\"")?;
            let open = before.iter().rposition(|&b| b == b'"')?;
            field_name(std::str::from_utf8(&before[open + 1..]).ok()?)
        })
}

/// A field name as the body spelled it, if it looks like one of LINE's (the body is the
/// server's: a "name" could be an echoed secret).
fn field_name(name: &str) -> Option<&str> {
    let plain = !name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    plain.then_some(name)
}

/// A 2xx response whose body is not what `op` documents.
pub(crate) fn decode_error<B>(op: Operation, response: &Response<B>, reason: String) -> Error {
    Error::Decode(DecodeError {
        operation: op,
        status: response.status(),
        request_id: request_id(response),
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

    #[test]
    fn decode_errors_name_the_field_and_type_never_the_value() {
        let secret = "0123456789abcdef0123456789abcdef";
        let cases = [
            (
                format!(r#"{{"access_token":"x","expires_in":"{secret}","token_type":"Bearer"}}"#),
                "field `expires_in` is not u64",
            ),
            (
                format!(r#"{{"access_token":"x","{secret}":1}}"#),
                "missing field `expires_in`",
            ),
            (
                r#"{"access_token":"x","expires_in":1,"#.to_owned(),
                "the JSON ends early (line 1, column 35)",
            ),
            (secret.to_owned(), "the body is not JSON (line 1, column 2)"),
            (
                format!(r#"["{secret}"]"#),
                "the JSON is not what LINE documents (expected struct IssuedToken with 4 elements)",
            ),
            (
                format!(r#"{{"note":"a \": c","expires_in":"{secret}","access_token":"x"}}"#),
                "field `expires_in` is not u64",
            ),
            (
                format!("{{\n  \"access_token\": \"x\",\n  \"expires_in\": [\"{secret}\"]\n}}"),
                "field `expires_in` is not u64",
            ),
        ];
        for (body, reason) in cases {
            let response = http::Response::new(body.into_bytes());
            let e = parse_json::<crate::protocol::token::IssuedToken, _>(
                Operation::IssueStateless,
                &response,
            )
            .unwrap_err();
            let Error::Decode(d) = &e else { panic!("{e}") };
            assert_eq!(d.reason(), reason);
            assert!(!e.to_string().contains("0123456789"), "{e}");
        }
    }
}
