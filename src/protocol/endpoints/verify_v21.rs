//! `GET /oauth2/v2.1/verify`: verify a channel access token v2.1.

use http::{Request, Response};

use super::{sealed, Endpoint};
use crate::protocol::api_base::ApiBase;
use crate::protocol::error::Error;
use crate::protocol::operation::Operation;
use crate::protocol::token::TokenInfo;
use crate::protocol::wire::{build_request, parse_json};
use crate::secret::AccessToken;

/// Verifies a v2.1 token (LINE's `verifyChannelTokenByJWT`). The token travels in the query
/// string, as LINE specifies.
///
/// An expired token answers HTTP 400
/// `{"error": "invalid_request", "error_description": "The access token expired"}`.
///
/// ```
/// use line_channel_token::{AccessToken, ApiBase, Endpoint, VerifyV21};
/// let token = AccessToken::new("eyJ+/=");
/// let request = VerifyV21::new(&token).to_request(&ApiBase::default());
/// assert_eq!(request.method(), "GET");
/// assert_eq!(request.uri(), "https://api.line.me/oauth2/v2.1/verify?access_token=eyJ%2B%2F%3D");
/// assert!(request.body().is_empty());
/// ```
#[doc(alias = "verifyChannelTokenByJWT")]
#[derive(Debug, Clone, Copy)]
pub struct VerifyV21<'a> {
    access_token: &'a AccessToken,
}

impl<'a> VerifyV21<'a> {
    /// The v2.1 token to verify.
    pub fn new(access_token: &'a AccessToken) -> Self {
        VerifyV21 { access_token }
    }
}

/// The query string.
#[derive(serde::Serialize)]
struct Query<'a> {
    access_token: &'a str,
}

impl sealed::Sealed for VerifyV21<'_> {}

impl Endpoint for VerifyV21<'_> {
    type Output = TokenInfo;
    const OPERATION: Operation = Operation::VerifyV21;

    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>> {
        build_request(
            api,
            Self::OPERATION,
            &Query {
                access_token: self.access_token.expose_secret(),
            },
        )
    }

    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<TokenInfo, Error> {
        parse_json(Self::OPERATION, response)
    }
}

#[cfg(feature = "emulator")]
impl<'a> crate::protocol::sample::Sample<'a> for VerifyV21<'a> {
    const ANSWER: &'static str = r#"{"client_id":"1573163733","expires_in":2591659,"scope":"profile chat_message.write"}"#;

    fn sample(inputs: &crate::protocol::sample::SampleInputs<'a>) -> Self {
        VerifyV21::new(inputs.token)
    }
}
