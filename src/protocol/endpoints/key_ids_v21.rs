//! `GET /oauth2/v2.1/tokens/kid`: the key ids of all valid channel access tokens v2.1.

use http::{Request, Response};

use super::{sealed, Endpoint};
use crate::facts::CLIENT_ASSERTION_TYPE;
use crate::protocol::api_base::ApiBase;
use crate::protocol::error::Error;
use crate::protocol::operation::Operation;
use crate::protocol::token::KeyIds;
use crate::protocol::wire::{build_request, parse_json};
use crate::secret::ClientAssertion;

/// Lists the `key_id`s of every valid v2.1 token of the channel
/// (LINE's `getsAllValidChannelAccessTokenKeyIds`).
///
/// Authenticates with a client assertion (without `token_exp`), sent in the query string.
///
/// ```
/// use line_channel_token::{ApiBase, ClientAssertion, Endpoint, KeyIdsV21};
/// let assertion = ClientAssertion::new("h.p.s");
/// let request = KeyIdsV21::new(&assertion).to_request(&ApiBase::default());
/// assert_eq!(
///     request.uri(),
///     "https://api.line.me/oauth2/v2.1/tokens/kid?client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=h.p.s"
/// );
/// ```
#[doc(alias = "getsAllValidChannelAccessTokenKeyIds")]
#[derive(Debug, Clone, Copy)]
pub struct KeyIdsV21<'a> {
    assertion: &'a ClientAssertion,
}

impl<'a> KeyIdsV21<'a> {
    /// A signed assertion for the channel.
    pub fn new(assertion: &'a ClientAssertion) -> Self {
        KeyIdsV21 { assertion }
    }
}

/// The query string, fields in the order LINE's SDKs send them.
#[derive(serde::Serialize)]
struct Query<'a> {
    client_assertion_type: &'a str,
    client_assertion: &'a str,
}

impl sealed::Sealed for KeyIdsV21<'_> {}

impl Endpoint for KeyIdsV21<'_> {
    type Output = KeyIds;
    const OPERATION: Operation = Operation::KeyIdsV21;

    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>> {
        build_request(
            api,
            Self::OPERATION,
            &Query {
                client_assertion_type: CLIENT_ASSERTION_TYPE,
                client_assertion: self.assertion.expose_secret(),
            },
        )
    }

    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<KeyIds, Error> {
        parse_json(Self::OPERATION, response)
    }
}

#[cfg(feature = "emulator")]
impl<'a> crate::protocol::sample::Sample<'a> for KeyIdsV21<'a> {
    const ANSWER: &'static str = r#"{"kids":["U_gdnFYKTWRxxxxDVZexGg","sDTOzw5wIfWxxxxzcmeQA","73hDyp3PxGfxxxxD6U5qYA"]}"#;

    fn sample(inputs: &crate::protocol::sample::SampleInputs<'a>) -> Self {
        KeyIdsV21::new(inputs.assertion)
    }
}
