//! `POST /v2/oauth/verify`: verify a short-lived or long-lived channel access token.

use http::{Request, Response};

use super::{sealed, Endpoint};
use crate::protocol::api_base::ApiBase;
use crate::protocol::error::Error;
use crate::protocol::operation::Operation;
use crate::protocol::token::TokenInfo;
use crate::protocol::wire::{build_request, parse_json};
use crate::secret::AccessToken;

/// Verifies a short-lived or long-lived token (LINE's `verifyChannelToken`).
///
/// For v2.1 tokens use [`crate::VerifyV21`]. An invalid token answers HTTP 400
/// `{"error": "invalid_request", "error_description": "access_token invalid"}`.
///
/// ```
/// use line_channel_token::{AccessToken, ApiBase, Endpoint, Verify};
/// let token = AccessToken::new("W1TeHCgfH2Liwa");
/// let request = Verify::new(&token).to_request(&ApiBase::default());
/// assert_eq!(request.method(), "POST");
/// assert_eq!(request.body(), b"access_token=W1TeHCgfH2Liwa");
/// ```
#[doc(alias = "verifyChannelToken")]
#[derive(Debug, Clone, Copy)]
pub struct Verify<'a> {
    access_token: &'a AccessToken,
}

impl<'a> Verify<'a> {
    /// The token to verify.
    pub fn new(access_token: &'a AccessToken) -> Self {
        Verify { access_token }
    }
}

/// The request form.
#[derive(serde::Serialize)]
struct Form<'a> {
    access_token: &'a str,
}

impl sealed::Sealed for Verify<'_> {}

impl Endpoint for Verify<'_> {
    type Output = TokenInfo;
    const OPERATION: Operation = Operation::Verify;

    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>> {
        build_request(
            api,
            Self::OPERATION,
            &Form {
                access_token: self.access_token.expose_secret(),
            },
        )
    }

    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<TokenInfo, Error> {
        parse_json(Self::OPERATION, response)
    }
}

#[cfg(feature = "emulator")]
impl<'a> crate::protocol::sample::Sample<'a> for Verify<'a> {
    const ANSWER: &'static str = r#"{"client_id":"1350031035","expires_in":3138007490,"scope":"P CM"}"#;

    fn sample(inputs: &crate::protocol::sample::SampleInputs<'a>) -> Self {
        Verify::new(inputs.token)
    }
}
