//! One sample request and one sample answer per operation, and a parser chosen by operation.
//!
//! Tests, fuzz targets and the benchmark walk [`Operation::ALL`] through these functions
//! instead of keeping their own lists (outside the crate `Operation` is `#[non_exhaustive]`,
//! so a `match` needs a wildcard). Each endpoint's file holds its sample, and the operations
//! table dispatches to it, so a new operation does not compile until it has one.
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
use crate::protocol::error::Error;
use crate::protocol::operation::Operation;
pub use crate::protocol::sample::SampleInputs;

/// The request `op`'s endpoint builds from `inputs`, as LINE's SDKs send it. The stateless
/// operation, which takes either a secret or an assertion, uses the assertion.
pub fn sample_request(op: Operation, inputs: &SampleInputs<'_>, api: &ApiBase) -> Request<Vec<u8>> {
    op.sample_request(inputs, api)
}

/// A successful answer to `op`, with the body of LINE's example in its reference (the
/// `200` status and an `X-Line-Request-Id`, as LINE sends them).
pub fn sample_response(op: Operation) -> Response<Vec<u8>> {
    let mut response = Response::new(op.sample_answer().as_bytes().to_vec());
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
/// Whatever [`Endpoint::parse_response`](crate::Endpoint::parse_response) of `op`'s endpoint
/// returns.
///
/// ```
/// use line_channel_token::emulator::{parse_response_as, sample_response};
/// use line_channel_token::{http, Operation};
///
/// for op in Operation::ALL {
///     assert_eq!(parse_response_as(op, &sample_response(op)), Ok(()));
/// }
/// let refused = http::Response::builder().status(429).body(Vec::<u8>::new()).unwrap();
/// assert!(parse_response_as(Operation::Verify, &refused).unwrap_err().is_retryable());
/// ```
pub fn parse_response_as<B: AsRef<[u8]>>(
    op: Operation,
    response: &Response<B>,
) -> Result<(), Error> {
    op.parse_as(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{AccessToken, ChannelSecret, ClientAssertion};

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
