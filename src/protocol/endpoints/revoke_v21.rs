//! `POST /oauth2/v2.1/revoke`: revoke a channel access token v2.1.

use http::{Request, Response};

use super::{sealed, Endpoint};
use crate::protocol::api_base::ApiBase;
use crate::protocol::error::Error;
use crate::protocol::operation::Operation;
use crate::protocol::wire::{build_request, parse_empty};
use crate::secret::{AccessToken, ChannelSecret};

/// Revokes a v2.1 token (LINE's `revokeChannelTokenByJWT`). Despite the name it authenticates
/// with the channel ID and secret, not a JWT.
///
/// LINE answers 200 with an empty body, also for a token that is already invalid.
///
/// ```
/// use line_channel_token::{AccessToken, ApiBase, ChannelSecret, Endpoint, RevokeV21};
/// let secret = ChannelSecret::new("s3cret");
/// let token = AccessToken::new("eyJ.a.b");
/// let request = RevokeV21::new("1234567890", &secret, &token).to_request(&ApiBase::default());
/// assert_eq!(request.body(), b"client_id=1234567890&client_secret=s3cret&access_token=eyJ.a.b");
/// ```
#[doc(alias = "revokeChannelTokenByJWT")]
#[derive(Debug, Clone, Copy)]
pub struct RevokeV21<'a> {
    channel_id: &'a str,
    channel_secret: &'a ChannelSecret,
    access_token: &'a AccessToken,
}

impl<'a> RevokeV21<'a> {
    /// The channel's credentials and the v2.1 token to revoke.
    pub fn new(
        channel_id: &'a str,
        channel_secret: &'a ChannelSecret,
        access_token: &'a AccessToken,
    ) -> Self {
        RevokeV21 {
            channel_id,
            channel_secret,
            access_token,
        }
    }
}

/// The request form, fields in the order LINE's SDKs send them.
#[derive(serde::Serialize)]
struct Form<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    access_token: &'a str,
}

impl sealed::Sealed for RevokeV21<'_> {}

impl Endpoint for RevokeV21<'_> {
    type Output = ();
    const OPERATION: Operation = Operation::RevokeV21;

    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>> {
        build_request(
            api,
            Self::OPERATION,
            &Form {
                client_id: self.channel_id,
                client_secret: self.channel_secret.expose_secret(),
                access_token: self.access_token.expose_secret(),
            },
        )
    }

    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<(), Error> {
        parse_empty(Self::OPERATION, response)
    }
}

#[cfg(feature = "emulator")]
impl<'a> crate::protocol::sample::Sample<'a> for RevokeV21<'a> {
    const ANSWER: &'static str = "";

    fn sample(inputs: &crate::protocol::sample::SampleInputs<'a>) -> Self {
        RevokeV21::new(inputs.channel_id, inputs.secret, inputs.token)
    }
}
