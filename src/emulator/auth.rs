//! Who is asking: channel secrets, client assertions, and the shape of presented tokens.

use super::routing::Params;
use super::Emulator;
use crate::facts::{
    ASSERTION_ALG, ASSERTION_TYP, AUDIENCE, CLIENT_ASSERTION_TYPE, MAX_ASSERTION_TTL,
};
use crate::jose::jwt::Jwt;
use crate::protocol::refusal::{self, Refusal};
use crate::time::UnixTime;

/// Longer than any token LINE issues; a bound so a huge parameter is refused early.
const MAX_TOKEN_LEN: usize = 4096;

impl Emulator {
    /// `client_id` and `client_secret`: the channel ID, if they match a channel.
    pub(super) fn authenticate_secret(&self, p: &Params) -> Result<String, Refusal> {
        let id = p.get("client_id").unwrap_or("");
        let Some(channel) = self.channels.get(id) else {
            return Err(refusal::INVALID_CLIENT_ID);
        };
        let given = p.get("client_secret").unwrap_or("");
        if !constant_time_eq(given.as_bytes(), channel.secret.expose_secret().as_bytes()) {
            return Err(refusal::INVALID_CLIENT_SECRET);
        }
        Ok(id.to_owned())
    }

    /// Every rule LINE documents for client assertions, in the order a server can check them:
    /// the form, the key (found by `kid`), the header, the signature, then the claims. Returns
    /// the channel ID and the verified JWT.
    pub(super) fn check_assertion(
        &self,
        now: UnixTime,
        p: &Params,
    ) -> Result<(String, Jwt), Refusal> {
        if p.get("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
            return Err(refusal::INVALID_ASSERTION_TYPE);
        }
        let assertion = p.get("client_assertion").unwrap_or("");
        let unverified =
            Jwt::decode_unverified(assertion).map_err(|_| refusal::INVALID_ASSERTION)?;
        let kid = unverified.kid().ok_or(refusal::NO_CHANNEL_KEY)?;
        let channel_id = self.kids.get(kid).ok_or(refusal::NO_CHANNEL_KEY)?;
        let key = self
            .channels
            .get(channel_id)
            .and_then(|c| c.keys.get(kid))
            .ok_or(refusal::NO_CHANNEL_KEY)?;
        if unverified.header_str("alg") != Some(ASSERTION_ALG) {
            return Err(refusal::INVALID_ALG);
        }
        if unverified.header_str("typ") != Some(ASSERTION_TYP) {
            return Err(refusal::INVALID_TYP);
        }
        let jwt = Jwt::verify_rs256(assertion, key).map_err(|_| refusal::INVALID_SIGNATURE)?;
        if jwt.claim_str("iss") != Some(channel_id.as_str()) {
            return Err(refusal::ISS_MISMATCH);
        }
        if jwt.claim_str("sub") != jwt.claim_str("iss") {
            return Err(refusal::INVALID_SUB);
        }
        if jwt.claim_str("aud") != Some(AUDIENCE) {
            return Err(refusal::INVALID_AUD);
        }
        match jwt.claim_u64("exp") {
            Some(exp) if exp > now.as_secs() && exp <= (now + MAX_ASSERTION_TTL).as_secs() => {}
            _ => return Err(refusal::INVALID_EXP),
        }
        Ok((channel_id.clone(), jwt))
    }
}

impl Params {
    /// The `access_token` of verify and revoke, which must at least look like a token.
    pub(super) fn plausible_access_token(&self, invalid: Refusal) -> Result<&str, Refusal> {
        self.get("access_token")
            .filter(|t| plausible_token(t))
            .ok_or(invalid)
    }

    /// The `access_token` of the v2.1 endpoints, which must look like a JWS.
    pub(super) fn jws_access_token(&self) -> Result<&str, Refusal> {
        let token = self.get("access_token").unwrap_or("");
        if looks_like_jws(token) {
            Ok(token)
        } else {
            Err(refusal::ACCESS_TOKEN_NOT_JWS)
        }
    }
}

fn plausible_token(t: &str) -> bool {
    !t.is_empty() && t.len() <= MAX_TOKEN_LEN && t.bytes().all(|b| b.is_ascii_graphic())
}

/// Three non-empty dot-separated parts; whether they decode is checked later, because LINE
/// answers "not JWS" and "malformed" differently.
fn looks_like_jws(t: &str) -> bool {
    plausible_token(t) && t.split('.').count() == 3 && t.split('.').all(|s| !s.is_empty())
}

/// Compares secrets and MACs without an early exit, so timing does not tell how much matched.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
