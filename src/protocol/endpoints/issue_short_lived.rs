//! `POST /v2/oauth/accessToken`: issue a short-lived channel access token.

use http::{Request, Response};

use super::{sealed, Endpoint};
use crate::facts::GRANT_TYPE;
use crate::protocol::api_base::ApiBase;
use crate::protocol::error::Error;
use crate::protocol::operation::Operation;
use crate::protocol::token::IssuedToken;
use crate::protocol::wire::{build_request, parse_json};
use crate::secret::ChannelSecret;

/// Issues a short-lived channel access token, valid for 30 days (LINE's `issueChannelToken`).
///
/// At most 30 are active per channel: issuing a 31st revokes the oldest. Authenticates with
/// the channel ID and channel secret; LINE allows 370 requests per second.
///
/// ```
/// use line_channel_token::{ApiBase, ChannelSecret, Endpoint, IssueShortLived};
/// let secret = ChannelSecret::new("s3cret");
/// let request = IssueShortLived::new("1234567890", &secret).to_request(&ApiBase::default());
/// assert_eq!(request.method(), "POST");
/// assert_eq!(request.uri(), "https://api.line.me/v2/oauth/accessToken");
/// assert_eq!(
///     request.body(),
///     b"grant_type=client_credentials&client_id=1234567890&client_secret=s3cret"
/// );
/// ```
#[doc(alias = "issueChannelToken")]
#[derive(Debug, Clone, Copy)]
pub struct IssueShortLived<'a> {
    channel_id: &'a str,
    channel_secret: &'a ChannelSecret,
}

impl<'a> IssueShortLived<'a> {
    /// `client_id` = channel ID, `client_secret` = channel secret.
    pub fn new(channel_id: &'a str, channel_secret: &'a ChannelSecret) -> Self {
        IssueShortLived {
            channel_id,
            channel_secret,
        }
    }
}

/// The request form, fields in the order LINE's SDKs send them.
#[derive(serde::Serialize)]
struct SecretForm<'a> {
    grant_type: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
}

impl sealed::Sealed for IssueShortLived<'_> {}

impl Endpoint for IssueShortLived<'_> {
    type Output = IssuedToken;
    const OPERATION: Operation = Operation::IssueShortLived;

    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>> {
        build_request(
            api,
            Self::OPERATION,
            &SecretForm {
                grant_type: GRANT_TYPE,
                client_id: self.channel_id,
                client_secret: self.channel_secret.expose_secret(),
            },
        )
    }

    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<IssuedToken, Error> {
        parse_json(Self::OPERATION, response)
    }
}

#[cfg(feature = "emulator")]
impl<'a> crate::protocol::sample::Sample<'a> for IssueShortLived<'a> {
    const ANSWER: &'static str = r#"{"access_token":"W1TeHCgfH2Liwa.....","expires_in":2592000,"token_type":"Bearer"}"#;

    fn sample(inputs: &crate::protocol::sample::SampleInputs<'a>) -> Self {
        IssueShortLived::new(inputs.channel_id, inputs.secret)
    }
}
