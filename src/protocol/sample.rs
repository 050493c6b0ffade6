//! What the emulator's samples need of each endpoint (feature `emulator`): a value built from
//! [`SampleInputs`], and LINE's example of a successful answer. Each endpoint's file implements
//! [`Sample`] beside its value; `operations!` writes the dispatch by operation, so a new
//! endpoint does not compile until it has a sample. The emulator's `samples` module is the
//! public face of these.

use crate::protocol::endpoints::Endpoint;
use crate::secret::{AccessToken, ChannelSecret, ClientAssertion};

/// What a sample request may need: each operation takes the inputs its endpoint takes.
///
/// ```
/// use line_channel_token::emulator::{sample_request, SampleInputs};
/// use line_channel_token::{AccessToken, ApiBase, ChannelSecret, ClientAssertion, Operation};
///
/// let (secret, token) = (ChannelSecret::new("s3cret"), AccessToken::new("token"));
/// let assertion = ClientAssertion::new("h.p.s");
/// let inputs = SampleInputs { channel_id: "1234567890", secret: &secret, token: &token, assertion: &assertion };
/// let request = sample_request(Operation::Verify, &inputs, &ApiBase::default());
/// assert_eq!(request.body().as_slice(), b"access_token=token");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SampleInputs<'a> {
    /// The channel id, for the operations authenticated by a channel secret.
    pub channel_id: &'a str,
    /// The channel secret.
    pub secret: &'a ChannelSecret,
    /// The access token to verify or revoke.
    pub token: &'a AccessToken,
    /// The client assertion, for the operations authenticated by one.
    pub assertion: &'a ClientAssertion,
}

/// An endpoint's sample: its value built from the sample inputs (as LINE's SDKs would send
/// it) and the body of the successful answer in LINE's reference.
pub(crate) trait Sample<'a>: Endpoint {
    /// The body of LINE's example of a successful answer.
    const ANSWER: &'static str;

    /// The endpoint's value for `inputs`. An operation that takes either a secret or an
    /// assertion uses the assertion.
    fn sample(inputs: &SampleInputs<'a>) -> Self;
}
