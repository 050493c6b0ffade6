//! The wire protocol: one value per LINE endpoint, turned into an `http::Request` and parsed back
//! from an `http::Response`.
//!
//! Every endpoint implements [`Endpoint`]. The crate does no I/O: send the request with any
//! client and hand the response back. [`call`] and [`call_async`] do exactly that with a closure,
//! so one small adapter runs every endpoint on any client.
//!
//! One file per endpoint (`endpoints/<name>.rs`) holds its value, its request form, its parser
//! and its sample; the route comes from the row of the operations table below, which also
//! declares the file. The crate root re-exports every public item of this module.

use http::{Request, Response, StatusCode};

use crate::protocol::api_base::ApiBase;
use crate::protocol::error::Error;
use crate::protocol::operation::operations;
use crate::protocol::wire::request_id;

// The operations, one row each, in LINE's reference order: the variant (also the name of its
// endpoint's type) in the file that holds the endpoint, then the route, the spec's
// `operationId` and a short name. `operations!` (in `operation.rs`) declares each file as a
// module, re-exports its type and generates `Operation` from these rows.
operations! {
    /// `POST /v2/oauth/accessToken`: issue a short-lived token (30 days).
    (IssueShortLived in issue_short_lived, POST, "/v2/oauth/accessToken", "issueChannelToken", "issue short-lived token");
    /// `POST /v2/oauth/verify`: verify a short-lived or long-lived token.
    (Verify in verify, POST, "/v2/oauth/verify", "verifyChannelToken", "verify token");
    /// `POST /v2/oauth/revoke`: revoke a short-lived or long-lived token.
    (Revoke in revoke, POST, "/v2/oauth/revoke", "revokeChannelToken", "revoke token");
    /// `POST /oauth2/v2.1/token`: issue a v2.1 token with a JWT assertion.
    (IssueV21 in issue_v21, POST, "/oauth2/v2.1/token", "issueChannelTokenByJWT", "issue v2.1 token");
    /// `GET /oauth2/v2.1/verify`: verify a v2.1 token.
    (VerifyV21 in verify_v21, GET, "/oauth2/v2.1/verify", "verifyChannelTokenByJWT", "verify v2.1 token");
    /// `GET /oauth2/v2.1/tokens/kid`: the key ids of all valid v2.1 tokens.
    (KeyIdsV21 in key_ids_v21, GET, "/oauth2/v2.1/tokens/kid", "getsAllValidChannelAccessTokenKeyIds", "list v2.1 key ids");
    /// `POST /oauth2/v2.1/revoke`: revoke a v2.1 token.
    (RevokeV21 in revoke_v21, POST, "/oauth2/v2.1/revoke", "revokeChannelTokenByJWT", "revoke v2.1 token");
    /// `POST /oauth2/v3/token`: issue a stateless token (15 minutes).
    (IssueStateless in issue_stateless, POST, "/oauth2/v3/token", "issueStatelessChannelToken", "issue stateless token");
}

/// Only this crate's endpoints implement [`Endpoint`], so methods can be added to it.
mod sealed {
    pub trait Sealed {}
}

/// One LINE channel access token endpoint: a request builder and its response parser.
///
/// Data flows one way: [`Endpoint::to_request`] -> your HTTP client -> [`Endpoint::parse_response`].
///
/// ```
/// use line_channel_token::http;
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

    /// Which operation this is.
    const OPERATION: Operation;

    /// The request, exactly as LINE's official SDKs send it. Never fails: the base was checked
    /// when the [`ApiBase`] was made, and every field is percent-encoded.
    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>>;

    /// Parses LINE's answer: the typed output on 2xx, a typed [`Error`] otherwise.
    /// Never panics, whatever the status, headers or bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for any non-2xx status, with the body in whichever of LINE's shapes it
    /// came; [`Error::Decode`] for a 2xx whose body is not the endpoint's documented output.
    ///
    /// ```
    /// use line_channel_token::{http, Endpoint, Revoke};
    ///
    /// // Revoke answers 200 with an empty body.
    /// let ok = http::Response::builder().status(200).body(Vec::new()).unwrap();
    /// assert_eq!(Revoke::parse_response(&ok).unwrap(), ());
    /// let throttled = http::Response::builder().status(429).body(Vec::new()).unwrap();
    /// assert!(Revoke::parse_response(&throttled).unwrap_err().is_retryable());
    /// ```
    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<Self::Output, Error>;

    /// [`Endpoint::parse_response`] plus the status and `X-Line-Request-Id` of the response
    /// (the official SDKs' "with HTTP info" variants).
    ///
    /// # Errors
    ///
    /// As [`Endpoint::parse_response`].
    ///
    /// ```
    /// use line_channel_token::{http, Endpoint, Verify};
    ///
    /// let response = http::Response::builder()
    ///     .status(503)
    ///     .header("x-line-request-id", "req-2")
    ///     .body(Vec::new())
    ///     .unwrap();
    /// let err = Verify::parse_response_with_info(&response).unwrap_err();
    /// assert_eq!(err.request_id(), Some("req-2")); // errors carry it too
    /// ```
    fn parse_response_with_info<B: AsRef<[u8]>>(
        response: &Response<B>,
    ) -> Result<WithHttpInfo<Self::Output>, Error> {
        let value = Self::parse_response(response)?;
        Ok(WithHttpInfo {
            value,
            status: response.status(),
            request_id: request_id(response),
        })
    }
}

/// A successful output with the HTTP details of its response.
///
/// ```
/// use line_channel_token::{http, Endpoint, Verify};
///
/// let response = http::Response::builder()
///     .status(200)
///     .header("x-line-request-id", "req-1")
///     .body(br#"{"client_id":"1350031035","expires_in":900}"#)
///     .unwrap();
/// let info = Verify::parse_response_with_info(&response).unwrap();
/// assert_eq!(info.status, 200);
/// assert_eq!(info.request_id.as_deref(), Some("req-1"));
/// assert_eq!(info.value.expires_in, 900);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WithHttpInfo<T> {
    /// The typed output.
    pub value: T,
    /// The HTTP status (2xx).
    pub status: StatusCode,
    /// The `X-Line-Request-Id` header, if present.
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::Operation;

    /// Each endpoint type carries the official SDKs' method name as a doc alias; the alias is
    /// written by hand, so check it against the operation table. Every file of `endpoints/` is
    /// read, so a new one needs no list here; every operation must have exactly one file.
    #[test]
    fn every_endpoint_file_names_its_operation_and_sdk_alias() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/protocol/endpoints");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            let op = Operation::ALL
                .into_iter()
                .find(|op| {
                    source.contains(&format!("const OPERATION: Operation = Operation::{op:?};"))
                })
                .unwrap_or_else(|| panic!("{}: names no operation", path.display()));
            let alias = format!("#[doc(alias = \"{}\")]", op.line_operation_id());
            assert!(source.contains(&alias), "{op:?}: missing {alias}");
            found.push(op);
        }
        for op in Operation::ALL {
            let files = found.iter().filter(|&&f| f == op).count();
            assert_eq!(files, 1, "{op:?}: {files} files in {dir}");
        }
    }
}
