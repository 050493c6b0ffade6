//! Token material: deterministic ids, opaque tokens, JWS-shaped v2.1 tokens and sealed
//! stateless tokens, all derived from the seed and a counter so runs are reproducible.

use sha2::{Digest, Sha256};

use super::auth::constant_time_eq;
use super::Emulator;
use crate::jose::base64url;
use crate::jose::jwt::Jwt;
use crate::time::UnixTime;

/// The `typ` that marks the emulator's own stateless tokens, so a v2.1 token with a forged
/// MAC can never pass for one.
const STATELESS_TYP: &str = "stateless";

impl Emulator {
    /// 32 fresh bytes: SHA-256 of the seed, a label and the next counter value.
    fn next_bytes(&mut self, label: &[u8]) -> [u8; 32] {
        self.counter = self.counter.wrapping_add(1);
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(label);
        h.update(self.counter.to_be_bytes());
        h.finalize().into()
    }

    pub(super) fn request_id(&mut self) -> String {
        let b = self.next_bytes(b"request-id");
        hex(&b[..16])
    }

    /// A `kid` in the Console's format (a UUID).
    pub(super) fn uuid(&mut self) -> String {
        let b = self.next_bytes(b"kid");
        let hex = hex(&b[..16]);
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// A v2.1 `key_id` in LINE's format (22 base64url characters).
    pub(super) fn key_id(&mut self) -> String {
        base64url::encode(&self.next_bytes(b"key_id")[..16])
    }

    /// A short-lived or long-lived token: opaque, as LINE's are.
    pub(super) fn opaque_token(&mut self) -> String {
        let a = self.next_bytes(b"opaque");
        let b = self.next_bytes(b"opaque");
        let mut t = base64url::encode(&a);
        t.push_str(&base64url::encode(&b));
        t
    }

    /// A v2.1 token: JWS-shaped, as LINE's are, and unique.
    pub(super) fn jws_token(
        &mut self,
        channel_id: &str,
        key_id: &str,
        expires_at: UnixTime,
    ) -> String {
        let header = base64url::encode(br#"{"alg":"HS256"}"#);
        let claims = serde_json::json!({"ver": "2.1", "ctype": "channel", "client_id": channel_id, "key_id": key_id, "exp": expires_at.as_secs()});
        let claims = base64url::encode(claims.to_string().as_bytes());
        let mac = base64url::encode(&self.next_bytes(b"v2.1"));
        format!("{header}.{claims}.{mac}")
    }

    fn stateless_mac(&self, payload: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(b"stateless");
        h.update(payload.as_bytes());
        base64url::encode(&h.finalize())
    }

    /// A stateless token carries its channel and expiry under a MAC, so the emulator needs no
    /// record of it (and, like LINE, cannot revoke it).
    pub(super) fn seal_stateless(&mut self, channel_id: &str, expires_at: UnixTime) -> String {
        let nonce = base64url::encode(&self.next_bytes(b"nonce")[..9]);
        let header = serde_json::json!({"alg": "HS256", "typ": STATELESS_TYP});
        let header = base64url::encode(header.to_string().as_bytes());
        let claims = serde_json::json!({"client_id": channel_id, "exp": expires_at.as_secs(), "nonce": nonce});
        let payload = format!(
            "{header}.{}",
            base64url::encode(claims.to_string().as_bytes())
        );
        let mac = self.stateless_mac(&payload);
        format!("{payload}.{mac}")
    }

    /// The channel and expiry of a stateless token this emulator sealed, if the MAC holds.
    pub(super) fn open_stateless(&self, token: &str) -> Option<(String, UnixTime)> {
        let (payload, mac) = token.rsplit_once('.')?;
        if !constant_time_eq(self.stateless_mac(payload).as_bytes(), mac.as_bytes()) {
            return None;
        }
        let jwt = Jwt::decode_unverified(token).ok()?;
        if jwt.header_str("typ") != Some(STATELESS_TYP) {
            return None;
        }
        Some((
            jwt.claim_str("client_id")?.to_owned(),
            UnixTime::from_secs(jwt.claim_u64("exp")?),
        ))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|x| format!("{x:02x}")).collect()
}
