//! How a cache gets its token: the channel secret, or a signing key plus its blinding RNG.

use std::fmt;
use std::time::Duration;

use http::{Request, Response};
use rsa::rand_core::TryCryptoRng;

use crate::facts::{TokenKind, SHORT_LIVED_LIFETIME, STATELESS_LIFETIME};
use crate::jose::assertion::{AssertionBuilder, AssertionError};
use crate::jose::key::SigningKey;
use crate::jose::rng::{Erased, Fill, RngFailed};
use crate::protocol::api_base::ApiBase;
use crate::protocol::endpoints::{Endpoint, IssueShortLived, IssueStateless, IssueV21};
use crate::protocol::error::Error;
use crate::protocol::token::IssuedToken;
use crate::secret::{ChannelSecret, ClientAssertion};
use crate::time::UnixTime;

/// The RNG that blinds assertion signatures, given once to assertion [`Credentials`]:
/// `Box::new(OsRng)` with the `os-rng` feature, any cryptographically secure RNG otherwise.
///
/// ```
/// use line_channel_token::cache::{BlindingRng, Credentials};
/// use line_channel_token::{OsRng, SigningKey};
///
/// let key = SigningKey::parse(include_str!("../../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
/// let rng: BlindingRng = Box::new(OsRng);
/// assert!(Credentials::stateless_by_assertion("1234567890", "kid", key, rng).is_ok());
/// ```
pub type BlindingRng = Box<dyn BlindingSource>;

/// Any cryptographically secure RNG, as assertion [`Credentials`] keep it. Implemented for every
/// [`rand_core::TryCryptoRng`](crate::rand_core::TryCryptoRng) that is `Send + Sync`; there
/// is nothing to implement by hand.
///
/// ```
/// use line_channel_token::cache::BlindingSource;
/// use line_channel_token::OsRng;
///
/// let mut rng = OsRng; // any `TryCryptoRng + Send + Sync` is one
/// let mut bytes = [0u8; 16];
/// assert!(rng.fill_random(&mut bytes));
/// ```
pub trait BlindingSource: Send + Sync {
    /// Fills `dest` with random bytes; `false` if the RNG failed.
    fn fill_random(&mut self, dest: &mut [u8]) -> bool;
}

impl<R: TryCryptoRng + Send + Sync> BlindingSource for R {
    fn fill_random(&mut self, dest: &mut [u8]) -> bool {
        self.try_fill_bytes(dest).is_ok()
    }
}

/// A kept [`BlindingSource`] as the signer's type-erased RNG takes it.
struct Blinding<'a>(&'a mut dyn BlindingSource);

impl Fill for Blinding<'_> {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RngFailed> {
        self.0.fill_random(dest).then_some(()).ok_or(RngFailed)
    }
}

/// How the cache gets a token. Holds the channel secret or the signing key, which is why it
/// is not part of the persisted [`CacheState`](super::CacheState). `Debug` shows no secret.
///
/// ```
/// use line_channel_token::cache::Credentials;
/// use line_channel_token::{ChannelSecret, TokenKind};
///
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
/// assert_eq!(credentials.token_kind(), TokenKind::Stateless);
/// assert_eq!(credentials.expected_lifetime().as_secs(), 15 * 60);
/// assert!(!format!("{credentials:?}").contains("s3cret"));
/// ```
pub struct Credentials {
    pub(super) channel_id: String,
    pub(super) kind: CredentialKind,
}

pub(super) enum CredentialKind {
    StatelessSecret(ChannelSecret),
    ShortLived(ChannelSecret),
    /// Boxed: the key, builder, RNG and reusable assertion are large and assertion channels rare.
    StatelessAssertion(Box<Signer>),
    V21(Box<Signer>),
}

pub(super) struct Signer {
    builder: AssertionBuilder,
    key: SigningKey,
    rng: BlindingRng,
    /// The last signed assertion and its expiry: reused rather than signing per refresh.
    assertion: Option<(ClientAssertion, UnixTime)>,
}

impl Credentials {
    /// Stateless tokens (15 minutes), authenticated with the channel secret. No RNG needed.
    pub fn stateless_by_secret(channel_id: impl Into<String>, secret: ChannelSecret) -> Self {
        Credentials {
            channel_id: channel_id.into(),
            kind: CredentialKind::StatelessSecret(secret),
        }
    }

    /// Short-lived tokens (30 days), authenticated with the channel secret. No RNG needed.
    pub fn short_lived(channel_id: impl Into<String>, secret: ChannelSecret) -> Self {
        Credentials {
            channel_id: channel_id.into(),
            kind: CredentialKind::ShortLived(secret),
        }
    }

    /// Stateless tokens authenticated with a client assertion signed by `key` (registered
    /// under `kid`); `rng` blinds each signature.
    ///
    /// # Errors
    ///
    /// [`AssertionError::ChannelId`] or [`AssertionError::Kid`]: the channel id or `kid` is
    /// one LINE refuses.
    ///
    /// ```
    /// use line_channel_token::cache::Credentials;
    /// use line_channel_token::{OsRng, SigningKey};
    ///
    /// let key = SigningKey::parse(include_str!("../../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// let kid = "9869e446-3489-4516-a83f-ec9214ad94d0"; // from the Console
    /// assert!(Credentials::stateless_by_assertion("1234567890", kid, key.clone(), Box::new(OsRng)).is_ok());
    /// assert!(Credentials::stateless_by_assertion("@bot", kid, key, Box::new(OsRng)).is_err());
    /// ```
    pub fn stateless_by_assertion(
        channel_id: impl Into<String>,
        kid: impl Into<String>,
        key: SigningKey,
        rng: BlindingRng,
    ) -> Result<Self, AssertionError> {
        let channel_id = channel_id.into();
        let builder = AssertionBuilder::new(channel_id.clone(), kid);
        let signer = Signer::new(builder, key, rng)?;
        Ok(Credentials {
            channel_id,
            kind: CredentialKind::StatelessAssertion(Box::new(signer)),
        })
    }

    /// v2.1 tokens living `token_exp` (1 s to 30 days), authenticated with a client
    /// assertion; `rng` blinds each signature.
    ///
    /// ```
    /// use std::time::Duration;
    /// use line_channel_token::cache::Credentials;
    /// use line_channel_token::{OsRng, SigningKey};
    ///
    /// let key = SigningKey::parse(include_str!("../../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// let week = Duration::from_secs(7 * 86_400);
    /// assert!(Credentials::v21("1234567890", "kid", key.clone(), week, Box::new(OsRng)).is_ok());
    /// let too_long = Duration::from_secs(31 * 86_400);
    /// assert!(Credentials::v21("1234567890", "kid", key, too_long, Box::new(OsRng)).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`AssertionError::TokenExp`]: `token_exp` is zero or beyond
    /// [`MAX_TOKEN_EXP`](crate::MAX_TOKEN_EXP); [`AssertionError::ChannelId`] or
    /// [`AssertionError::Kid`]: the channel id or `kid` is one LINE refuses.
    pub fn v21(
        channel_id: impl Into<String>,
        kid: impl Into<String>,
        key: SigningKey,
        token_exp: Duration,
        rng: BlindingRng,
    ) -> Result<Self, AssertionError> {
        let channel_id = channel_id.into();
        let builder = AssertionBuilder::new(channel_id.clone(), kid).token_exp(token_exp);
        let signer = Signer::new(builder, key, rng)?;
        Ok(Credentials {
            channel_id,
            kind: CredentialKind::V21(Box::new(signer)),
        })
    }

    /// The channel.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// The kind of token these credentials issue.
    pub fn token_kind(&self) -> TokenKind {
        match self.kind {
            CredentialKind::StatelessSecret(_) | CredentialKind::StatelessAssertion(_) => {
                TokenKind::Stateless
            }
            CredentialKind::ShortLived(_) => TokenKind::ShortLived,
            CredentialKind::V21(_) => TokenKind::V21,
        }
    }

    /// The lifetime LINE gives these tokens: the kind's fixed lifetime, or v2.1's `token_exp`.
    pub fn expected_lifetime(&self) -> Duration {
        match &self.kind {
            CredentialKind::StatelessSecret(_) | CredentialKind::StatelessAssertion(_) => {
                STATELESS_LIFETIME
            }
            CredentialKind::ShortLived(_) => SHORT_LIVED_LIFETIME,
            CredentialKind::V21(signer) => signer.token_exp(),
        }
    }

    /// The refresh request for `now`, signing an assertion if the last one is too old.
    /// `reuse_margin`: how long an assertion must outlive `now` to be reused.
    pub(super) fn request(
        &mut self,
        api: &ApiBase,
        now: UnixTime,
        reuse_margin: Duration,
    ) -> Result<Request<Vec<u8>>, AssertionError> {
        let channel_id = self.channel_id.as_str();
        Ok(match &mut self.kind {
            CredentialKind::StatelessSecret(secret) => {
                IssueStateless::by_secret(channel_id, secret).to_request(api)
            }
            CredentialKind::ShortLived(secret) => {
                IssueShortLived::new(channel_id, secret).to_request(api)
            }
            CredentialKind::StatelessAssertion(signer) => {
                IssueStateless::by_assertion(signer.assertion(now, reuse_margin)?).to_request(api)
            }
            CredentialKind::V21(signer) => {
                IssueV21::new(signer.assertion(now, reuse_margin)?).to_request(api)
            }
        })
    }

    /// LINE refused the assertion: sign a new one next time.
    pub(super) fn forget_assertion(&mut self) {
        if let CredentialKind::StatelessAssertion(signer) | CredentialKind::V21(signer) =
            &mut self.kind
        {
            signer.assertion = None;
        }
    }

    /// What the refresh request carries that must never be shown: the channel secret, or
    /// the client assertion. (A server may echo them back in an error.)
    pub(super) fn secrets(&self) -> Option<&str> {
        match &self.kind {
            CredentialKind::StatelessSecret(s) | CredentialKind::ShortLived(s) => {
                Some(s.expose_secret())
            }
            CredentialKind::StatelessAssertion(signer) | CredentialKind::V21(signer) => {
                signer.assertion.as_ref().map(|(a, _)| a.expose_secret())
            }
        }
    }

    /// Parses LINE's answer with the endpoint these credentials call.
    pub(super) fn parse<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
    ) -> Result<IssuedToken, Error> {
        match self.kind {
            CredentialKind::StatelessSecret(_) | CredentialKind::StatelessAssertion(_) => {
                IssueStateless::parse_response(response)
            }
            CredentialKind::ShortLived(_) => IssueShortLived::parse_response(response),
            CredentialKind::V21(_) => IssueV21::parse_response(response),
        }
    }
}

impl Signer {
    fn new(
        builder: AssertionBuilder,
        key: SigningKey,
        rng: BlindingRng,
    ) -> Result<Signer, AssertionError> {
        builder.claims(UnixTime::EPOCH)?;
        Ok(Signer {
            builder,
            key,
            rng,
            assertion: None,
        })
    }

    fn token_exp(&self) -> Duration {
        self.builder
            .claims(UnixTime::EPOCH)
            .ok()
            .and_then(|c| c.token_exp)
            .map_or(STATELESS_LIFETIME, Duration::from_secs)
    }

    fn assertion(
        &mut self,
        now: UnixTime,
        margin: Duration,
    ) -> Result<&ClientAssertion, AssertionError> {
        let fresh_expiry = self.builder.expires_at(now);
        // Reused while it outlives this refresh; an expiry beyond a fresh one means the clock
        // went back since it was signed, and LINE would refuse it.
        let reusable = self
            .assertion
            .take()
            .filter(|(_, exp)| now + margin < *exp && *exp <= fresh_expiry);
        let pair = match reusable {
            Some(pair) => pair,
            None => (
                self.builder
                    .sign(&self.key, now, &mut Erased(&mut Blinding(&mut *self.rng)))?,
                fresh_expiry,
            ),
        };
        Ok(&self.assertion.insert(pair).0)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("channel_id", &self.channel_id)
            .field("kind", &self.token_kind())
            .finish_non_exhaustive()
    }
}
