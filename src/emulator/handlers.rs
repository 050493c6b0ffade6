//! The eight endpoints, as LINE documents them. Each takes the parsed parameters and answers
//! with a reply or a refusal from the protocol layer's table.

use std::time::Duration;

use super::reply::{self, Reply};
use super::routing::Params;
use super::{Channel, Emulator, StoredToken};
use crate::facts::{
    TokenKind, MAX_ACTIVE_SHORT_LIVED, MAX_ACTIVE_V21, MAX_TOKEN_EXP, SHORT_LIVED_LIFETIME,
    STATELESS_LIFETIME,
};
use crate::jose::jwt::Jwt;
use crate::protocol::refusal::{self, Refusal};
use crate::time::UnixTime;

impl Emulator {
    /// `POST /v2/oauth/accessToken`.
    pub(super) fn issue_short_lived(
        &mut self,
        now: UnixTime,
        p: &Params,
    ) -> Result<Reply, Refusal> {
        p.grant_type()?;
        let channel_id = self.authenticate_secret(p)?;
        let token = self.opaque_token();
        let channel = self.channel_mut(&channel_id)?;
        // "If the maximum is exceeded, the oldest existing channel access token is revoked."
        if channel.active(TokenKind::ShortLived, now).count() >= MAX_ACTIVE_SHORT_LIVED {
            let oldest = channel
                .tokens
                .iter_mut()
                .find(|t| t.kind == TokenKind::ShortLived && t.active(now));
            if let Some(oldest) = oldest {
                oldest.revoked = true;
            }
        }
        channel.prune(now);
        channel.tokens.push(StoredToken {
            access_token: token.clone(),
            kind: TokenKind::ShortLived,
            key_id: None,
            expires_at: Some(now + SHORT_LIVED_LIFETIME),
            revoked: false,
        });
        Ok(reply::issued(&token, SHORT_LIVED_LIFETIME.as_secs(), None))
    }

    /// `POST /v2/oauth/verify`: short-lived and long-lived tokens only.
    pub(super) fn verify(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        let token = p.plausible_access_token(refusal::ACCESS_TOKEN_FORMAT)?;
        for (id, c) in &self.channels {
            let found = c.tokens.iter().find(|t| {
                t.access_token == token
                    && t.active(now)
                    && matches!(t.kind, TokenKind::ShortLived | TokenKind::LongLived)
            });
            if let Some(t) = found {
                return Ok(reply::token_info(id, t.expires_at, now));
            }
        }
        Err(refusal::ACCESS_TOKEN_INVALID)
    }

    /// `POST /v2/oauth/revoke`: short-lived and long-lived tokens only. An unknown or already
    /// invalid token is not an error, as LINE documents.
    pub(super) fn revoke(&mut self, p: &Params) -> Result<Reply, Refusal> {
        let token = p.plausible_access_token(refusal::REVOKE_INVALID)?;
        for c in self.channels.values_mut() {
            let revocable = c
                .tokens
                .iter_mut()
                .filter(|t| matches!(t.kind, TokenKind::ShortLived | TokenKind::LongLived));
            for t in revocable.filter(|t| t.access_token == token) {
                t.revoked = true;
            }
        }
        Ok(reply::empty_ok())
    }

    /// `POST /oauth2/v2.1/token`: unlike short-lived issuance, the 31st is refused.
    pub(super) fn issue_v21(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        p.grant_type()?;
        let (channel_id, jwt) = self.check_assertion(now, p)?;
        let token_exp = jwt
            .claim_u64("token_exp")
            .filter(|t| (1..=MAX_TOKEN_EXP.as_secs()).contains(t))
            .ok_or(refusal::INVALID_TOKEN_EXP)?;
        let expires_at = now + Duration::from_secs(token_exp);
        let key_id = self.key_id();
        let token = self.jws_token(&channel_id, &key_id, expires_at);
        let channel = self.channel_mut(&channel_id)?;
        if channel.active(TokenKind::V21, now).count() >= MAX_ACTIVE_V21 {
            return Err(refusal::MAX_TOKENS_ISSUED);
        }
        channel.prune(now);
        channel.tokens.push(StoredToken {
            access_token: token.clone(),
            kind: TokenKind::V21,
            key_id: Some(key_id.clone()),
            expires_at: Some(expires_at),
            revoked: false,
        });
        Ok(reply::issued(&token, token_exp, Some(&key_id)))
    }

    /// `GET /oauth2/v2.1/verify`: tells an expired token from an unknown or revoked one.
    pub(super) fn verify_v21(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        // v2.1 tokens only: LINE documents the endpoint as "You can verify whether a Channel
        // access token with a user-specified expiration (Channel Access Token v2.1) is valid"
        // (verifyChannelTokenByJWT in tests/data/channel-access-token.yml). A stateless or
        // short-lived token is answered "access_token invalid", as for any unknown token.
        let token = p.jws_access_token()?;
        for (id, c) in &self.channels {
            let found = c
                .tokens
                .iter()
                .find(|t| t.access_token == token && t.kind == TokenKind::V21);
            match found {
                Some(t) if t.revoked => break,
                Some(t) if !t.active(now) => return Err(refusal::ACCESS_TOKEN_EXPIRED),
                Some(t) => return Ok(reply::token_info(id, t.expires_at, now)),
                None => {}
            }
        }
        Err(refusal::ACCESS_TOKEN_INVALID)
    }

    /// `GET /oauth2/v2.1/tokens/kid`: the `key_id`s of the channel's active v2.1 tokens.
    pub(super) fn key_ids_v21(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        let (channel_id, _) = self.check_assertion(now, p)?;
        let kids: Vec<&str> = self
            .channels
            .get(&channel_id)
            .map(|c| {
                c.active(TokenKind::V21, now)
                    .filter_map(|t| t.key_id.as_deref())
                    .collect()
            })
            .unwrap_or_default();
        Ok(reply::key_ids_v21(&kids))
    }

    /// `POST /oauth2/v2.1/revoke`: authenticated by the channel secret despite the name.
    pub(super) fn revoke_v21(&mut self, p: &Params) -> Result<Reply, Refusal> {
        let channel_id = self.authenticate_secret(p)?;
        let token = p.jws_access_token()?;
        if Jwt::decode_unverified(token).is_err() {
            return Err(refusal::ACCESS_TOKEN_MALFORMED);
        }
        let channel = self.channel_mut(&channel_id)?;
        for t in channel
            .tokens
            .iter_mut()
            .filter(|t| t.access_token == token)
        {
            t.revoked = true;
        }
        Ok(reply::empty_ok())
    }

    /// `POST /oauth2/v3/token`: by secret or by assertion. Any problem with the grant type or
    /// the secret is LINE's single "Invalid 'client_credentials'." refusal; assertion problems
    /// are reported as on the other JWT endpoints.
    pub(super) fn issue_stateless(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        p.grant_type()
            .map_err(|_| refusal::INVALID_CLIENT_CREDENTIALS)?;
        let by_assertion =
            p.get("client_assertion").is_some() || p.get("client_assertion_type").is_some();
        let channel_id = if by_assertion {
            self.check_assertion(now, p)?.0
        } else {
            self.authenticate_secret(p)
                .map_err(|_| refusal::INVALID_CLIENT_CREDENTIALS)?
        };
        let token = self.seal_stateless(&channel_id, now + STATELESS_LIFETIME);
        Ok(reply::issued(&token, STATELESS_LIFETIME.as_secs(), None))
    }

    fn channel_mut(&mut self, channel_id: &str) -> Result<&mut Channel, Refusal> {
        self.channels
            .get_mut(channel_id)
            .ok_or(refusal::INVALID_CLIENT_ID)
    }
}
