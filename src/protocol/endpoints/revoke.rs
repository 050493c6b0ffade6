//! `POST /v2/oauth/revoke`: revoke a short-lived or long-lived channel access token.

use http::{Request, Response};

use super::{sealed, Endpoint};
use crate::protocol::api_base::ApiBase;
use crate::protocol::error::Error;
use crate::protocol::operation::Operation;
use crate::protocol::wire::{build_request, parse_empty};
use crate::secret::AccessToken;

/// Revokes a short-lived or long-lived token (LINE's `revokeChannelToken`).
///
/// LINE answers 200 with an empty body, also for a token that is already invalid; only a token
/// in an invalid format is an error (`{"error": "invalid_request"}`).
///
/// ```
/// use line_channel_token::http;
/// use line_channel_token::{AccessToken, ApiBase, Endpoint, Revoke};
/// let token = AccessToken::new("W1TeHCgfH2Liwa");
/// let request = Revoke::new(&token).to_request(&ApiBase::default());
/// assert_eq!(request.uri().path(), "/v2/oauth/revoke");
/// assert_eq!(request.body(), b"access_token=W1TeHCgfH2Liwa");
/// assert_eq!(Revoke::parse_response(&http::Response::new(b"")), Ok(()));
/// ```
#[doc(alias = "revokeChannelToken")]
#[derive(Debug, Clone, Copy)]
pub struct Revoke<'a> {
    access_token: &'a AccessToken,
}

impl<'a> Revoke<'a> {
    /// The token to revoke.
    pub fn new(access_token: &'a AccessToken) -> Self {
        Revoke { access_token }
    }
}

/// The request form.
#[derive(serde::Serialize)]
struct Form<'a> {
    access_token: &'a str,
}

impl sealed::Sealed for Revoke<'_> {}

impl Endpoint for Revoke<'_> {
    type Output = ();
    const OPERATION: Operation = Operation::Revoke;

    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>> {
        build_request(
            api,
            Self::OPERATION,
            &Form {
                access_token: self.access_token.expose_secret(),
            },
        )
    }

    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<(), Error> {
        parse_empty(Self::OPERATION, response)
    }
}

#[cfg(feature = "emulator")]
impl<'a> crate::protocol::sample::Sample<'a> for Revoke<'a> {
    const ANSWER: &'static str = "";

    fn sample(inputs: &crate::protocol::sample::SampleInputs<'a>) -> Self {
        Revoke::new(inputs.token)
    }
}
