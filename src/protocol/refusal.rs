//! Every refusal LINE's token endpoints document (and the few the emulator adds where the docs
//! are silent), written once with what the user should do about it.
//!
//! The client looks a response up here by exact status, `error` and `error_description` (or
//! `message`) to choose the hint in [`ApiError`](crate::ApiError)'s message; the emulator
//! answers with these same rows. Adding a refusal to the emulator means adding a row, which
//! gives it a hint, and the emulator's refusal walk test fails until it is reachable.

use http::StatusCode;

use crate::protocol::error_body::ErrorBody;

/// The `error` / `message` part of a refusal, as LINE sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `{"error": .., "error_description": ..}`.
    OAuth(&'static str, Option<&'static str>),
    /// `{"message": ..}`.
    Message(&'static str),
}

/// One refusal: the status and body LINE answers, and the hint shown with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) shape: Shape,
    pub(crate) hint: &'static str,
}

impl Refusal {
    const fn oauth(
        status: StatusCode,
        error: &'static str,
        description: Option<&'static str>,
        hint: &'static str,
    ) -> Refusal {
        Refusal {
            status,
            shape: Shape::OAuth(error, description),
            hint,
        }
    }

    const fn message(status: StatusCode, message: &'static str, hint: &'static str) -> Refusal {
        Refusal {
            status,
            shape: Shape::Message(message),
            hint,
        }
    }

    /// The body LINE sends.
    #[cfg_attr(not(feature = "emulator"), allow(dead_code))]
    pub(crate) fn body(&self) -> ErrorBody {
        match self.shape {
            Shape::OAuth(error, description) => ErrorBody::OAuth {
                error: error.to_owned(),
                error_description: description.map(str::to_owned),
            },
            Shape::Message(message) => ErrorBody::Message {
                message: message.to_owned(),
                details: Vec::new(),
            },
        }
    }

    /// Exactly this refusal: same status, same code and description (or message). `details`
    /// do not take part.
    fn is(&self, status: StatusCode, body: &ErrorBody) -> bool {
        self.status == status
            && match (self.shape, body) {
                (
                    Shape::OAuth(code, description),
                    ErrorBody::OAuth {
                        error,
                        error_description,
                    },
                ) => code == error && description == error_description.as_deref(),
                (Shape::Message(text), ErrorBody::Message { message, .. }) => text == message,
                _ => false,
            }
    }
}

/// The hint for a response: by status for rate limits and server trouble (whatever the body),
/// otherwise from the row that matches exactly, if any.
pub(crate) fn hint(status: StatusCode, body: &ErrorBody) -> Option<&'static str> {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Some(hints::RATE_LIMITED);
    }
    if status.is_server_error() {
        return Some(hints::SERVER);
    }
    ALL.iter().find(|r| r.is(status, body)).map(|r| r.hint)
}

/// What to do, shared by rows with the same cause.
pub(crate) mod hints {
    pub(crate) const RATE_LIMITED: &str =
        "rate limited: retry later with backoff, and reuse tokens instead of issuing per request";
    pub(crate) const SERVER: &str = "LINE or a proxy failed: retry later with backoff";
    pub(crate) const CREDENTIALS: &str =
        "check the channel ID and channel secret in the LINE Developers Console (Basic settings)";
    pub(crate) const KEY: &str = "check the kid and the channel ID, and that the public key is registered on this channel in the LINE Developers Console";
    pub(crate) const ASSERTION_EXP: &str = "the client assertion is expired or expires more than 30 minutes ahead: sign a fresh one with a correct clock";
    pub(crate) const TOKEN_EXP: &str = "the assertion's token_exp must be a whole number of seconds from 1 to 30 days: sign one with a token_exp in that range";
    pub(crate) const ASSERTION: &str = "the client assertion is not one LINE accepts: sign it with AssertionBuilder (RS256, typ JWT, iss = sub = channel ID, aud = LINE's API)";
    pub(crate) const SIGNATURE: &str = "the assertion's signature does not verify with the public key registered for its kid: sign with the matching private key";
    pub(crate) const ACCESS_TOKEN: &str =
        "the access token is invalid, expired, revoked or of another type: issue a new one";
    pub(crate) const TOKEN_FORMAT: &str = "the access token is not in the format this endpoint takes (the v2.1 endpoints take only v2.1 tokens): check which token is sent";
    pub(crate) const TOO_MANY_V21: &str = "30 v2.1 tokens are active: revoke unused ones (list them with the key-ids endpoint) or wait for some to expire";
    pub(crate) const REQUEST: &str = "the request is not what LINE expects: check that the API base points at LINE and nothing rewrites the request";
    pub(crate) const NO_ROUTE: &str =
        "no such endpoint: check the API base (LINE's default, or a proxy of it)";
}

macro_rules! refusals {
    ($( $(#[$doc:meta])* $name:ident = $value:expr; )+) => {
        $( $(#[$doc])* pub(crate) const $name: Refusal = $value; )+

        /// Every row, for lookups and for the emulator's refusal walk test.
        pub(crate) const ALL: &[Refusal] = &[$($name),+];
    };
}

use hints::*;
use StatusCode as S;

refusals! {
    /// Unknown channel ID (short-lived, v2.1 revoke).
    INVALID_CLIENT_ID = Refusal::oauth(S::BAD_REQUEST, "invalid_client", Some("invalid client_id"), CREDENTIALS);
    /// Wrong channel secret.
    INVALID_CLIENT_SECRET = Refusal::oauth(S::BAD_REQUEST, "invalid_client", Some("invalid client_secret"), CREDENTIALS);
    /// The stateless endpoint's answer to any credential problem.
    INVALID_CLIENT_CREDENTIALS = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("Invalid 'client_credentials'."), CREDENTIALS);
    /// `grant_type` other than `client_credentials`.
    UNSUPPORTED_GRANT_TYPE = Refusal::oauth(S::BAD_REQUEST, "unsupported_grant_type", None, REQUEST);
    /// A required parameter missing, or a body that is not a form.
    PARAMETERS_MISSED = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("some parameters missed or invalid"), REQUEST);
    /// A POST without the form content type (the emulator's words; LINE's docs are silent).
    CONTENT_TYPE = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("Content-Type must be application/x-www-form-urlencoded"), REQUEST);
    /// Verify: a token that cannot be one.
    ACCESS_TOKEN_FORMAT = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("access_token in invalid format"), TOKEN_FORMAT);
    /// Verify: not a valid token (expired, revoked, unknown, another type).
    ACCESS_TOKEN_INVALID = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("access_token invalid"), ACCESS_TOKEN);
    /// Revoke: a token in an invalid format (the docs give no description).
    REVOKE_INVALID = Refusal::oauth(S::BAD_REQUEST, "invalid_request", None, TOKEN_FORMAT);
    /// v2.1 verify: the token expired.
    ACCESS_TOKEN_EXPIRED = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("The access token expired"), ACCESS_TOKEN);
    /// v2.1 verify and revoke: not a JWS.
    ACCESS_TOKEN_NOT_JWS = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("The access token not JWS"), TOKEN_FORMAT);
    /// v2.1 revoke: JWS-shaped but not decodable.
    ACCESS_TOKEN_MALFORMED = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("The access token malformed"), TOKEN_FORMAT);
    /// v2.1 issue: `token_exp` missing, zero or over 30 days.
    INVALID_TOKEN_EXP = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("Invalid token_exp"), TOKEN_EXP);
    /// v2.1 issue: 30 tokens active.
    MAX_TOKENS_ISSUED = Refusal::message(S::BAD_REQUEST, "The maximum number of access tokens has already been issued", TOO_MANY_V21);
    /// `client_assertion_type` is not the JWT bearer type.
    INVALID_ASSERTION_TYPE = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("Invalid client_assertion_type"), ASSERTION);
    /// `client_assertion` is not a JWT.
    INVALID_ASSERTION = Refusal::oauth(S::BAD_REQUEST, "invalid_request", Some("Invalid client_assertion"), ASSERTION);
    /// No key with the assertion's `kid`.
    NO_CHANNEL_KEY = Refusal::message(S::NOT_FOUND, "Cannot find channel key that satisfies the conditions", KEY);
    /// The assertion's `alg` is not RS256.
    INVALID_ALG = Refusal::oauth(S::BAD_REQUEST, "invalid_client", Some("Invalid alg"), ASSERTION);
    /// The assertion's `typ` is not JWT.
    INVALID_TYP = Refusal::oauth(S::BAD_REQUEST, "invalid_client", Some("Invalid typ"), ASSERTION);
    /// The assertion's signature does not verify.
    INVALID_SIGNATURE = Refusal::oauth(S::BAD_REQUEST, "invalid_client", Some("Invalid signature"), SIGNATURE);
    /// `iss` is not the channel the `kid` belongs to.
    ISS_MISMATCH = Refusal::oauth(S::BAD_REQUEST, "invalid_client", Some("iss and clientId of key do not match"), KEY);
    /// `sub` differs from `iss`.
    INVALID_SUB = Refusal::oauth(S::BAD_REQUEST, "invalid_client", Some("Invalid sub"), ASSERTION);
    /// `aud` is not LINE's.
    INVALID_AUD = Refusal::oauth(S::BAD_REQUEST, "invalid_client", Some("Invalid aud"), ASSERTION);
    /// `exp` past, missing, or more than 30 minutes ahead.
    INVALID_EXP = Refusal::oauth(S::BAD_REQUEST, "invalid_client", Some("Invalid exp"), ASSERTION_EXP);
    /// No endpoint at this path (the emulator's words).
    NOT_FOUND = Refusal::message(S::NOT_FOUND, "Not found", NO_ROUTE);
    /// An endpoint's path with the wrong method (the emulator's words).
    METHOD_NOT_ALLOWED = Refusal::message(S::METHOD_NOT_ALLOWED, "Method not allowed", NO_ROUTE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_distinct_and_each_finds_its_own_hint() {
        for (i, row) in ALL.iter().enumerate() {
            assert!(
                ALL[..i]
                    .iter()
                    .all(|o| (o.status, o.shape) != (row.status, row.shape)),
                "{row:?} twice"
            );
            assert_eq!(hint(row.status, &row.body()), Some(row.hint), "{row:?}");
        }
    }

    /// The hints are static text; the numbers in them must still be LINE's facts.
    #[test]
    fn hints_quote_the_facts() {
        use crate::facts::{MAX_ACTIVE_V21, MAX_ASSERTION_TTL, MAX_TOKEN_EXP};
        let minutes = format!("{} minutes", MAX_ASSERTION_TTL.as_secs() / 60);
        assert!(ASSERTION_EXP.contains(&minutes), "{ASSERTION_EXP}");
        let days = format!("{} days", MAX_TOKEN_EXP.as_secs() / 86_400);
        assert!(TOKEN_EXP.contains(&days), "{TOKEN_EXP}");
        let cap = format!("{MAX_ACTIVE_V21} v2.1 tokens");
        assert!(TOO_MANY_V21.starts_with(&cap), "{TOO_MANY_V21}");
    }

    #[test]
    fn lookups_are_exact_not_substrings() {
        let exp_with_suffix = ErrorBody::OAuth {
            error: "invalid_client".into(),
            error_description: Some("Invalid exp claim".into()),
        };
        assert_eq!(hint(S::BAD_REQUEST, &exp_with_suffix), None);
        assert_eq!(hint(S::UNAUTHORIZED, &INVALID_EXP.body()), None);
        assert_eq!(
            hint(S::BAD_REQUEST, &INVALID_TOKEN_EXP.body()),
            Some(TOKEN_EXP)
        );
        assert_eq!(
            hint(S::SERVICE_UNAVAILABLE, &NOT_FOUND.body()),
            Some(SERVER)
        );
    }
}
