//! The emulator's answers: issued tokens, token info, and refusals in LINE's error shapes.

use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};

use crate::facts::TOKEN_TYPE;
use crate::protocol::error_body::ErrorBody;
use crate::protocol::refusal::Refusal;
use crate::time::UnixTime;

pub(super) type Reply = Response<Vec<u8>>;

/// What verify reports as `expires_in` for a long-lived token, which never expires: the value
/// in LINE's own example response (about 100 years).
const LONG_LIVED_EXPIRES_IN: u64 = 3_138_007_490;

/// The `scope` verify reports (the value in LINE's example response).
const SCOPE: &str = "P CM";

fn json(status: StatusCode, body: Vec<u8>) -> Reply {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn json_value(status: StatusCode, value: &serde_json::Value) -> Reply {
    json(status, serde_json::to_vec(value).unwrap_or_default())
}

/// A refusal, with the body from the protocol layer's table.
pub(super) fn refusal(refusal: Refusal) -> Reply {
    json(refusal.status, refusal.body().to_json())
}

/// An injected failure: the status, and its reason phrase as a `message` body.
pub(super) fn injected_failure(status: StatusCode) -> Reply {
    let body = ErrorBody::Message {
        message: status
            .canonical_reason()
            .unwrap_or("Injected failure")
            .to_owned(),
        details: Vec::new(),
    };
    json(status, body.to_json())
}

/// 200 with an empty body, as both revoke endpoints answer.
pub(super) fn empty_ok() -> Reply {
    Response::new(Vec::new())
}

/// An issued token; `key_id` only for v2.1.
pub(super) fn issued(token: &str, expires_in: u64, key_id: Option<&str>) -> Reply {
    let mut body = serde_json::json!({"access_token": token, "expires_in": expires_in, "token_type": TOKEN_TYPE});
    if let Some(k) = key_id {
        body["key_id"] = k.into();
    }
    json_value(StatusCode::OK, &body)
}

/// Verify's answer for a token of `channel_id` expiring at `expires_at` (never, if `None`).
pub(super) fn token_info(channel_id: &str, expires_at: Option<UnixTime>, now: UnixTime) -> Reply {
    let expires_in = expires_at.map_or(LONG_LIVED_EXPIRES_IN, |t| (t - now).as_secs());
    json_value(
        StatusCode::OK,
        &serde_json::json!({"client_id": channel_id, "expires_in": expires_in, "scope": SCOPE}),
    )
}

/// The key-ids listing.
pub(super) fn key_ids_v21(kids: &[&str]) -> Reply {
    json_value(StatusCode::OK, &serde_json::json!({ "kids": kids }))
}
