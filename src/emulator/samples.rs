//! One sample request and one sample answer per operation, and a parser chosen by operation:
//! the single place that maps an [`Operation`] to its endpoint value.
//!
//! Tests, fuzz targets, the benchmark and the demo walk [`Operation::ALL`] through these two
//! functions instead of keeping their own lists. Both are exhaustive `match`es inside the crate
//! (outside it `Operation` is `#[non_exhaustive]`, so a `match` needs a wildcard), so a new
//! operation does not compile until it has a sample and a parser here.
//!
//! ```
//! use line_channel_token::emulator::{sample_request, Emulator, SampleInputs};
//! use line_channel_token::{AccessToken, ApiBase, ChannelSecret, ClientAssertion, Operation};
//!
//! let secret = ChannelSecret::new("s3cret");
//! let token = AccessToken::new("token");
//! let assertion = ClientAssertion::new("h.p.s");
//! let inputs = SampleInputs { channel_id: "1234567890", secret: &secret, token: &token, assertion: &assertion };
//! for op in Operation::ALL {
//!     let request = sample_request(op, &inputs, &ApiBase::default());
//!     assert_eq!((request.method(), request.uri().path()), (&op.method(), op.path()));
//! }
//! ```

use http::{Request, Response, StatusCode};

use crate::facts::REQUEST_ID_HEADER;
use crate::protocol::api_base::ApiBase;
use crate::protocol::endpoints::{
    Endpoint, IssueShortLived, IssueStateless, IssueV21, KeyIdsV21, Revoke, RevokeV21, Verify,
    VerifyV21,
};
use crate::protocol::error::Error;
use crate::protocol::operation::Operation;
use crate::secret::{AccessToken, ChannelSecret, ClientAssertion};

/// What a sample request may need: each operation takes the inputs its endpoint takes.
#[derive(Debug, Clone, Copy)]
pub struct SampleInputs<'a> {
    /// The channel id, for the operations authenticated by a channel secret.
    pub channel_id: &'a str,
    /// The channel secret.
    pub secret: &'a ChannelSecret,
    /// The access token to verify or revoke.
    pub token: &'a AccessToken,
    /// The client assertion, for the operations authenticated by one.
    pub assertion: &'a ClientAssertion,
}

/// The request `op`'s endpoint builds from `inputs`, as LINE's SDKs send it. The stateless
/// operation, which takes either a secret or an assertion, uses the assertion.
pub fn sample_request(op: Operation, inputs: &SampleInputs<'_>, api: &ApiBase) -> Request<Vec<u8>> {
    let SampleInputs {
        channel_id,
        secret,
        token,
        assertion,
    } = *inputs;
    match op {
        Operation::IssueShortLived => IssueShortLived::new(channel_id, secret).to_request(api),
        Operation::Verify => Verify::new(token).to_request(api),
        Operation::Revoke => Revoke::new(token).to_request(api),
        Operation::IssueV21 => IssueV21::new(assertion).to_request(api),
        Operation::VerifyV21 => VerifyV21::new(token).to_request(api),
        Operation::KeyIdsV21 => KeyIdsV21::new(assertion).to_request(api),
        Operation::RevokeV21 => RevokeV21::new(channel_id, secret, token).to_request(api),
        Operation::IssueStateless => IssueStateless::by_assertion(assertion).to_request(api),
    }
}

/// A successful answer to `op`, with the body of LINE's example in its reference (the
/// `200` status and an `X-Line-Request-Id`, as LINE sends them).
pub fn sample_response(op: Operation) -> Response<Vec<u8>> {
    const ISSUED: &str =
        r#"{"access_token":"W1TeHCgfH2Liwa.....","expires_in":2592000,"token_type":"Bearer"}"#;
    const VERIFIED: &str = r#"{"client_id":"1350031035","expires_in":3138007490,"scope":"P CM"}"#;
    let body = match op {
        Operation::IssueShortLived => ISSUED,
        Operation::Verify => VERIFIED,
        Operation::Revoke | Operation::RevokeV21 => "",
        Operation::IssueV21 => {
            r#"{"access_token":"eyJhbGciOiJIUz.....","token_type":"Bearer","expires_in":2592000,"key_id":"sDTOzw5wIfxxxxPEzcmeQA"}"#
        }
        Operation::VerifyV21 => {
            r#"{"client_id":"1573163733","expires_in":2591659,"scope":"profile chat_message.write"}"#
        }
        Operation::KeyIdsV21 => {
            r#"{"kids":["U_gdnFYKTWRxxxxDVZexGg","sDTOzw5wIfWxxxxzcmeQA","73hDyp3PxGfxxxxD6U5qYA"]}"#
        }
        Operation::IssueStateless => {
            r#"{"token_type":"Bearer","access_token":"eyJhbGciOiJIUz.....","expires_in":899}"#
        }
    };
    let mut response = Response::new(body.as_bytes().to_vec());
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        REQUEST_ID_HEADER,
        http::HeaderValue::from_static("0f5b4c3e-req"),
    );
    response
}

/// Parses `response` with `op`'s endpoint, keeping only whether it succeeded: the error a
/// caller of that endpoint would see, or `Ok(())` when the body is the endpoint's output.
///
/// # Errors
///
/// Whatever [`Endpoint::parse_response`] of `op`'s endpoint returns.
pub fn parse_response_as<B: AsRef<[u8]>>(
    op: Operation,
    response: &Response<B>,
) -> Result<(), Error> {
    fn parse<E: Endpoint, B: AsRef<[u8]>>(response: &Response<B>) -> Result<(), Error> {
        E::parse_response(response).map(drop)
    }
    match op {
        Operation::IssueShortLived => parse::<IssueShortLived, B>(response),
        Operation::Verify => parse::<Verify, B>(response),
        Operation::Revoke => parse::<Revoke, B>(response),
        Operation::IssueV21 => parse::<IssueV21, B>(response),
        Operation::VerifyV21 => parse::<VerifyV21, B>(response),
        Operation::KeyIdsV21 => parse::<KeyIdsV21, B>(response),
        Operation::RevokeV21 => parse::<RevokeV21, B>(response),
        Operation::IssueStateless => parse::<IssueStateless, B>(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_answer_parses_and_every_sample_request_takes_its_route() {
        let (secret, token) = (ChannelSecret::new("s"), AccessToken::new("t"));
        let assertion = ClientAssertion::new("h.p.s");
        let inputs = SampleInputs {
            channel_id: "1",
            secret: &secret,
            token: &token,
            assertion: &assertion,
        };
        for op in Operation::ALL {
            assert_eq!(
                parse_response_as(op, &sample_response(op)),
                Ok(()),
                "{op:?}"
            );
            let request = sample_request(op, &inputs, &ApiBase::default());
            assert_eq!(request.method(), op.method(), "{op:?}");
            assert_eq!(request.uri().path(), op.path(), "{op:?}");
        }
    }
}
