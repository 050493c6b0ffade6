//! `POST /oauth2/v3/token`: issue a stateless channel access token.

use http::{Request, Response};

use super::{sealed, Endpoint};
use crate::facts::{CLIENT_ASSERTION_TYPE, GRANT_TYPE};
use crate::protocol::api_base::ApiBase;
use crate::protocol::error::Error;
use crate::protocol::operation::Operation;
use crate::protocol::token::IssuedToken;
use crate::protocol::wire::{build_request, parse_json};
use crate::secret::{ChannelSecret, ClientAssertion};

/// Issues a stateless token, valid for 15 minutes (LINE's `issueStatelessChannelToken`).
///
/// There is no limit on how many exist, and they cannot be revoked. Authenticate either with
/// the channel secret or with a client assertion (without `token_exp`).
///
/// ```
/// use line_channel_token::{ApiBase, ChannelSecret, Endpoint, IssueStateless};
/// let secret = ChannelSecret::new("a&b=c+d");
/// let request = IssueStateless::by_secret("1234567890", &secret).to_request(&ApiBase::default());
/// assert_eq!(
///     request.body(),
///     b"grant_type=client_credentials&client_id=1234567890&client_secret=a%26b%3Dc%2Bd"
/// );
/// ```
#[doc(alias = "issueStatelessChannelToken")]
#[doc(alias = "issueStatelessChannelTokenByClientSecret")]
#[doc(alias = "issueStatelessChannelTokenByJWTAssertion")]
#[derive(Debug, Clone, Copy)]
pub enum IssueStateless<'a> {
    /// `grant_type`, `client_id`, `client_secret`.
    BySecret {
        /// Channel ID.
        channel_id: &'a str,
        /// Channel secret.
        channel_secret: &'a ChannelSecret,
    },
    /// `grant_type`, `client_assertion_type`, `client_assertion`.
    ByAssertion {
        /// A signed assertion for the channel.
        assertion: &'a ClientAssertion,
    },
}

impl<'a> IssueStateless<'a> {
    /// Authenticate with the channel ID and secret
    /// (the SDKs' `issueStatelessChannelTokenByClientSecret`).
    pub fn by_secret(channel_id: &'a str, channel_secret: &'a ChannelSecret) -> Self {
        IssueStateless::BySecret {
            channel_id,
            channel_secret,
        }
    }

    /// Authenticate with a client assertion
    /// (the SDKs' `issueStatelessChannelTokenByJWTAssertion`).
    pub fn by_assertion(assertion: &'a ClientAssertion) -> Self {
        IssueStateless::ByAssertion { assertion }
    }
}

/// The form of [`IssueStateless::BySecret`], fields in the order LINE's SDKs send them.
#[derive(serde::Serialize)]
struct SecretForm<'a> {
    grant_type: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
}

/// The form of [`IssueStateless::ByAssertion`].
#[derive(serde::Serialize)]
struct AssertionForm<'a> {
    grant_type: &'a str,
    client_assertion_type: &'a str,
    client_assertion: &'a str,
}

impl sealed::Sealed for IssueStateless<'_> {}

impl Endpoint for IssueStateless<'_> {
    type Output = IssuedToken;
    const OPERATION: Operation = Operation::IssueStateless;

    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>> {
        match self {
            IssueStateless::BySecret {
                channel_id,
                channel_secret,
            } => build_request(
                api,
                Self::OPERATION,
                &SecretForm {
                    grant_type: GRANT_TYPE,
                    client_id: channel_id,
                    client_secret: channel_secret.expose_secret(),
                },
            ),
            IssueStateless::ByAssertion { assertion } => build_request(
                api,
                Self::OPERATION,
                &AssertionForm {
                    grant_type: GRANT_TYPE,
                    client_assertion_type: CLIENT_ASSERTION_TYPE,
                    client_assertion: assertion.expose_secret(),
                },
            ),
        }
    }

    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<IssuedToken, Error> {
        parse_json(Self::OPERATION, response)
    }
}

#[cfg(feature = "emulator")]
impl<'a> crate::protocol::sample::Sample<'a> for IssueStateless<'a> {
    const ANSWER: &'static str = r#"{"token_type":"Bearer","access_token":"eyJhbGciOiJIUz.....","expires_in":899}"#;

    fn sample(inputs: &crate::protocol::sample::SampleInputs<'a>) -> Self {
        IssueStateless::by_assertion(inputs.assertion)
    }
}
