//! `POST /v2/oauth/accessToken`: issue a short-lived channel access token.

use http::{Request, Response};

use super::{build_request, parse_json, sealed, Endpoint, Operation};
use crate::{ApiBase, ChannelSecret, Error, IssuedToken};

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

impl sealed::Sealed for IssueShortLived<'_> {}

impl Endpoint for IssueShortLived<'_> {
    type Output = IssuedToken;
    const OPERATION: Operation = Operation::IssueShortLived;

    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>> {
        build_request(
            api,
            Self::OPERATION,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", self.channel_id),
                ("client_secret", self.channel_secret.expose_secret()),
            ],
        )
    }

    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<IssuedToken, Error> {
        parse_json(Self::OPERATION, response)
    }
}
