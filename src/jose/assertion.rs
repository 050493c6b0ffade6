//! JWT client assertions, built and checked against LINE's rules.

use std::fmt;
use std::time::Duration;

use rsa::rand_core::TryCryptoRng;

use crate::jose::error::KeyError;
use crate::jose::jwt;
use crate::jose::key::SigningKey;
use crate::secret::ClientAssertion;
use crate::time::UnixTime;

use crate::facts::{AUDIENCE, MAX_ASSERTION_TTL, MAX_TOKEN_EXP};

/// Builds the client assertion LINE's JWT-authenticated endpoints take.
///
/// Header `{"alg":"RS256","typ":"JWT","kid":…}`; claims `iss` = `sub` = channel ID,
/// `aud` = `https://api.line.me/`, `exp` = now + ttl (default and maximum 30 minutes), and
/// `token_exp` (seconds, at most 30 days) when set.
///
/// | endpoint | `token_exp` |
/// |---|---|
/// | [`crate::IssueV21`] | required: the lifetime of the token to issue |
/// | [`crate::IssueStateless::by_assertion`], [`crate::KeyIdsV21`] | leave unset |
///
/// ```
/// # #[cfg(feature = "os-rng")] {
/// use std::time::Duration;
/// use line_channel_token::{AssertionBuilder, OsRng, SigningKey, UnixTime};
///
/// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
/// let now = UnixTime::from(std::time::SystemTime::now());
/// let assertion = AssertionBuilder::new("1234567890", "9869e446-3489-4516-a83f-ec9214ad94d0")
///     .token_exp(Duration::from_secs(30 * 24 * 3600))
///     .sign(&key, now, &mut OsRng)
///     .unwrap();
/// assert_eq!(assertion.expose_secret().split('.').count(), 3);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionBuilder {
    channel_id: String,
    kid: String,
    ttl: Duration,
    token_exp: Option<Duration>,
}

#[derive(serde::Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

/// The claims of an assertion, as signed.
///
/// ```
/// use line_channel_token::{AssertionBuilder, UnixTime};
///
/// let now = UnixTime::from_secs(1_700_000_000);
/// let claims = AssertionBuilder::new("1234567890", "kid-1").claims(now).unwrap();
/// assert_eq!((claims.iss.as_str(), claims.sub.as_str()), ("1234567890", "1234567890"));
/// assert_eq!(claims.exp, 1_700_000_000 + 30 * 60);
/// assert_eq!(claims.token_exp, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssertionClaims {
    /// `iss`: the channel ID.
    pub iss: String,
    /// `sub`: the channel ID.
    pub sub: String,
    /// `aud`: `https://api.line.me/`.
    pub aud: String,
    /// `exp`: Unix seconds after which LINE rejects the assertion.
    pub exp: u64,
    /// `token_exp`: the requested lifetime of a v2.1 token, in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token_exp: Option<u64>,
}

impl AssertionBuilder {
    /// An assertion for `channel_id` signed with the key registered under `kid`.
    pub fn new(channel_id: impl Into<String>, kid: impl Into<String>) -> Self {
        AssertionBuilder {
            channel_id: channel_id.into(),
            kid: kid.into(),
            ttl: MAX_ASSERTION_TTL,
            token_exp: None,
        }
    }

    /// How long the assertion stays valid: more than zero, at most 30 minutes (the default).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The lifetime of the v2.1 token to issue: at least one second, at most 30 days.
    pub fn token_exp(mut self, token_exp: Duration) -> Self {
        self.token_exp = Some(token_exp);
        self
    }

    /// The configured assertion lifetime.
    pub fn assertion_ttl(&self) -> Duration {
        self.ttl
    }

    /// The channel ID.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The claims that [`AssertionBuilder::sign`] would sign at `now`, after checking them
    /// against LINE's rules.
    ///
    /// # Errors
    ///
    /// [`AssertionError`]: a channel ID that is not 1 to 20 digits, an empty or over-long
    /// `kid`, a lifetime outside 1 s to 30 min, or a `token_exp` outside 1 s to 30 days.
    ///
    /// ```
    /// use std::time::Duration;
    /// use line_channel_token::{AssertionBuilder, AssertionError, UnixTime};
    ///
    /// let now = UnixTime::from_secs(1_700_000_000);
    /// let claims = AssertionBuilder::new("1234567890", "kid-1").claims(now).unwrap();
    /// assert_eq!(claims.aud, "https://api.line.me/");
    /// let too_long = AssertionBuilder::new("1234567890", "kid-1").ttl(Duration::from_secs(3600));
    /// assert_eq!(too_long.claims(now), Err(AssertionError::Ttl(Duration::from_secs(3600))));
    /// ```
    pub fn claims(&self, now: UnixTime) -> Result<AssertionClaims, AssertionError> {
        if self.channel_id.is_empty()
            || self.channel_id.len() > 20
            || !self.channel_id.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(AssertionError::ChannelId);
        }
        if self.kid.trim().is_empty() || self.kid.len() > 256 {
            return Err(AssertionError::Kid);
        }
        if self.ttl < Duration::from_secs(1) || self.ttl > MAX_ASSERTION_TTL {
            return Err(AssertionError::Ttl(self.ttl));
        }
        let token_exp = match self.token_exp {
            Some(t) if t < Duration::from_secs(1) || t > MAX_TOKEN_EXP => {
                return Err(AssertionError::TokenExp(t))
            }
            Some(t) => Some(t.as_secs()),
            None => None,
        };
        Ok(AssertionClaims {
            iss: self.channel_id.clone(),
            sub: self.channel_id.clone(),
            aud: AUDIENCE.to_owned(),
            exp: (now + self.ttl).as_secs(),
            token_exp,
        })
    }

    /// When an assertion signed at `now` expires.
    pub fn expires_at(&self, now: UnixTime) -> UnixTime {
        UnixTime::from_secs((now + self.ttl).as_secs())
    }

    /// Checks the claims and signs them with RS256. `now` is the caller's clock; `rng` blinds
    /// the RSA operation (see the crate docs, "Randomness").
    ///
    /// # Errors
    ///
    /// [`AssertionError`] when a claim breaks LINE's rules (see [`AssertionBuilder::claims`]),
    /// or [`AssertionError::Key`] when `rng` fails.
    ///
    /// ```
    /// # #[cfg(feature = "os-rng")] {
    /// use line_channel_token::{AssertionBuilder, AssertionError, OsRng, SigningKey, UnixTime};
    ///
    /// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// let now = UnixTime::from_secs(1_700_000_000);
    /// let assertion = AssertionBuilder::new("1234567890", "kid-1").sign(&key, now, &mut OsRng).unwrap();
    /// assert!(assertion.expose_secret().starts_with("eyJ"));
    /// let bad = AssertionBuilder::new("@mybot", "kid-1").sign(&key, now, &mut OsRng);
    /// assert_eq!(bad.unwrap_err(), AssertionError::ChannelId); // refused before LINE sees it
    /// # }
    /// ```
    pub fn sign<R: TryCryptoRng + ?Sized>(
        &self,
        key: &SigningKey,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<ClientAssertion, AssertionError> {
        let claims = self.claims(now)?;
        let header = Header {
            alg: "RS256",
            typ: "JWT",
            kid: &self.kid,
        };
        jwt::sign_rs256(&header, &claims, key, rng).map_err(AssertionError::Key)
    }
}

/// An assertion that LINE would refuse, refused here first.
///
/// ```
/// use line_channel_token::{AssertionBuilder, AssertionError, UnixTime};
///
/// let err = AssertionBuilder::new("1234567890", "").claims(UnixTime::from_secs(0)).unwrap_err();
/// assert_eq!(err, AssertionError::Kid);
/// assert!(err.to_string().contains("kid"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionError {
    /// The channel ID is not 1 to 20 ASCII digits.
    ChannelId,
    /// The `kid` is empty or longer than 256 bytes.
    Kid,
    /// The assertion lifetime is not within 1 second to 30 minutes.
    Ttl(Duration),
    /// `token_exp` is not within 1 second to 30 days.
    TokenExp(Duration),
    /// Signing failed.
    Key(KeyError),
}

impl fmt::Display for AssertionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssertionError::ChannelId => f.write_str(
                "the channel ID must be the channel's numeric ID (Basic settings in the LINE Developers Console), not its name or secret",
            ),
            AssertionError::Kid => f.write_str(
                "the kid must be the key id the LINE Developers Console returned when you registered the public key",
            ),
            AssertionError::Ttl(t) => write!(
                f,
                "the assertion lifetime is {}s; LINE accepts 1 to {} seconds (30 minutes)",
                t.as_secs(),
                MAX_ASSERTION_TTL.as_secs()
            ),
            AssertionError::TokenExp(t) => write!(
                f,
                "token_exp is {}s; LINE issues v2.1 tokens for 1 to {} seconds (30 days)",
                t.as_secs(),
                MAX_TOKEN_EXP.as_secs()
            ),
            AssertionError::Key(e) => write!(f, "could not sign the assertion: {e}"),
        }
    }
}

impl std::error::Error for AssertionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AssertionError::Key(e) => Some(e),
            _ => None,
        }
    }
}
