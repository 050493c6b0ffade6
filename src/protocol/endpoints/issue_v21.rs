//! `POST /oauth2/v2.1/token`: issue a channel access token v2.1 with a JWT assertion.

use http::{Request, Response};

use super::{sealed, Endpoint};
use crate::facts::{CLIENT_ASSERTION_TYPE, GRANT_TYPE};
use crate::protocol::api_base::ApiBase;
use crate::protocol::error::Error;
use crate::protocol::operation::Operation;
use crate::protocol::token::IssuedToken;
use crate::protocol::wire::{build_request, decode_error, parse_json};
use crate::secret::ClientAssertion;

/// Issues a v2.1 token whose lifetime is the assertion's `token_exp` (up to 30 days)
/// (LINE's `issueChannelTokenByJWT`).
///
/// At most 30 are active per channel; past that LINE answers HTTP 400
/// `{"message": "The maximum number of access tokens has already been issued"}`.
/// Store the returned `key_id` with the token: it is how the key-ids endpoint tells you which
/// tokens are still valid. The parsed output always has `key_id`.
///
/// ```
/// use line_channel_token::http;
/// use line_channel_token::{ApiBase, ClientAssertion, Endpoint, IssueV21};
/// let assertion = ClientAssertion::new("eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
/// let request = IssueV21::new(&assertion).to_request(&ApiBase::default());
/// assert_eq!(request.uri().path(), "/oauth2/v2.1/token");
/// assert_eq!(
///     request.body(),
///     b"grant_type=client_credentials\
///       &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
///       &client_assertion=eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
/// );
/// let token = IssueV21::parse_response(&http::Response::new(
///     br#"{"access_token":"eyJhbGciOiJIUz.....","token_type":"Bearer","expires_in":2592000,"key_id":"sDTOzw5wIfxxxxPEzcmeQA"}"#,
/// )).unwrap();
/// assert_eq!(token.key_id.as_deref(), Some("sDTOzw5wIfxxxxPEzcmeQA"));
/// ```
#[doc(alias = "issueChannelTokenByJWT")]
#[derive(Debug, Clone, Copy)]
pub struct IssueV21<'a> {
    assertion: &'a ClientAssertion,
}

impl<'a> IssueV21<'a> {
    /// A signed assertion that carries `token_exp`.
    pub fn new(assertion: &'a ClientAssertion) -> Self {
        IssueV21 { assertion }
    }
}

/// The request form, fields in the order LINE's SDKs send them.
#[derive(serde::Serialize)]
struct Form<'a> {
    grant_type: &'a str,
    client_assertion_type: &'a str,
    client_assertion: &'a str,
}

impl sealed::Sealed for IssueV21<'_> {}

impl Endpoint for IssueV21<'_> {
    type Output = IssuedToken;
    const OPERATION: Operation = Operation::IssueV21;

    fn to_request(&self, api: &ApiBase) -> Request<Vec<u8>> {
        build_request(
            api,
            Self::OPERATION,
            &Form {
                grant_type: GRANT_TYPE,
                client_assertion_type: CLIENT_ASSERTION_TYPE,
                client_assertion: self.assertion.expose_secret(),
            },
        )
    }

    fn parse_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<IssuedToken, Error> {
        let token: IssuedToken = parse_json(Self::OPERATION, response)?;
        if token.key_id.is_none() {
            return Err(decode_error(
                Self::OPERATION,
                response,
                "missing field `key_id`".into(),
            ));
        }
        Ok(token)
    }
}

#[cfg(feature = "emulator")]
impl<'a> crate::protocol::sample::Sample<'a> for IssueV21<'a> {
    const ANSWER: &'static str = r#"{"access_token":"eyJhbGciOiJIUz.....","token_type":"Bearer","expires_in":2592000,"key_id":"sDTOzw5wIfxxxxPEzcmeQA"}"#;

    fn sample(inputs: &crate::protocol::sample::SampleInputs<'a>) -> Self {
        IssueV21::new(inputs.assertion)
    }
}
