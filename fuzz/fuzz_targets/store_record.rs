//! A fleet's record as Redis (or any store) hands it back: decoded, checked and decided on at
//! any clock, with no panic, no overflow, never a token served within its margin of expiry,
//! and never a wait that does not end.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use line_channel_token::store::{decide, Decision, Failure, OwnerId, Record, StoreConfig};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

fuzz_target!(|input: (u64, u64, bool, &[u8])| {
    let (version, now, counted, body) = input;
    let config = if counted {
        StoreConfig::new("1234567890", TokenKind::V21, Duration::from_secs(86_400))
    } else {
        StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))
    }
    .expect("valid");
    let now = UnixTime::from_millis(now);
    let me = OwnerId::new(1);
    // A record of another kind, or too large, is refused: nothing to decide on.
    let Ok((record, _)) = Record::from_store(version, Some(body), now, &config) else {
        return;
    };
    let _ = record.body();
    match decide(&record, now, me, &config) {
        Decision::Serve(t) => assert!(now + config.min_remaining() < t.expires_at),
        Decision::Wait(w) => assert!(w.until > now),
        Decision::Refresh { lease_until } | Decision::ListKeys { lease_until } => {
            assert!(lease_until > now)
        }
        Decision::TakeLease(w) => {
            assert_eq!(w.expected_version(), version);
            let held = w.into_record();
            let token: IssuedToken =
                serde_json::from_str(r#"{"access_token":"t","expires_in":900,"key_id":"k"}"#)
                    .expect("token");
            let _ = held.commit(now, me, now, &token, &config);
            let _ = held.release(now, me, Failure::unanswered(), &config);
            let _ = held.reconcile(now, me, &["k".to_owned()], &config);
        }
    }
});
