//! Property tests: whatever LINE answers, however the clock moves, whatever state is
//! restored, the cache keeps its promises.
//!
//! - `Wait(t)` / `InFlight(t)` always have `t > now` and `t == next_deadline()`;
//! - a token is never handed out at or past its expiry by the caller's clock;
//! - refreshes start at most once per issuance interval, and never during a backoff, while
//!   the clock runs forward;
//! - the cache is never stuck: with LINE healthy again, a token follows within a few deadlines.

mod common;

use std::time::Duration;

use common::cache::*;
use line_channel_token::cache::*;
use line_channel_token::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Answer {
    Token { expires_in: u64 },
    Empty,
    Status(u16),
    Garbage,
    Transport,
}

#[derive(Debug, Clone)]
enum Op {
    Forward(u64),
    Back(u64),
    Poll,
    /// Answer the n-th outstanding refresh (modulo), keeping it for a duplicate if `again`.
    Answer {
        n: usize,
        answer: Answer,
        again: bool,
    },
    Invalidate,
    Restore(Box<CacheState>),
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        6 => prop_oneof![0u64..3, 0u64..120, 800u64..1000, Just(u64::MAX), any::<u64>()]
            .prop_map(|expires_in| Answer::Token { expires_in }),
        1 => Just(Answer::Empty),
        2 => prop::sample::select(vec![400u16, 401, 429, 500, 503]).prop_map(Answer::Status),
        1 => Just(Answer::Garbage),
        1 => Just(Answer::Transport),
    ]
}

fn time_near() -> impl Strategy<Value = UnixTime> {
    prop_oneof![
        (0u64..200_000_000)
            .prop_map(|ms| T0 - Duration::from_millis(100_000_000) + Duration::from_millis(ms)),
        Just(UnixTime::from_millis(u64::MAX)),
        Just(UnixTime::EPOCH),
    ]
}

fn state() -> impl Strategy<Value = CacheState> {
    let token =
        (time_near(), time_near(), "[a-z]{0,3}").prop_map(|(issued_at, expires_at, raw)| {
            CachedToken {
                access_token: AccessToken::new(raw),
                issued_at,
                expires_at,
                key_id: None,
            }
        });
    (
        prop::option::of(token),
        prop::option::of(time_near()),
        any::<u32>(),
        prop::option::of(time_near()),
        prop::option::of(time_near()),
        any::<bool>(),
    )
        .prop_map(
            |(token, in_flight_since, failures, retry_at, last_refresh_at, other)| CacheState {
                channel_id: if other { "999".into() } else { CHANNEL.into() },
                kind: TokenKind::Stateless,
                token,
                in_flight_since,
                failures,
                retry_at,
                last_failure: None,
                last_refresh_at,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..3_600_000).prop_map(Op::Forward),
        1 => (0u64..100_000_000).prop_map(Op::Back),
        6 => Just(Op::Poll),
        5 => (any::<usize>(), answer(), any::<bool>()).prop_map(|(n, answer, again)| Op::Answer { n, answer, again }),
        1 => Just(Op::Invalidate),
        1 => state().prop_map(|s| Op::Restore(Box::new(s))),
    ]
}

fn respond(answer: &Answer, serial: u64) -> Option<http::Response<Vec<u8>>> {
    Some(match answer {
        Answer::Token { expires_in } => issued(&format!("tok{serial}"), *expires_in),
        Answer::Empty => issued("", 900),
        Answer::Status(s) => answer_with(*s, r#"{"error":"invalid_client"}"#),
        Answer::Garbage => answer_with(200, "<html>"),
        Answer::Transport => return None,
    })
}

fn answer_with(status: u16, body: &str) -> http::Response<Vec<u8>> {
    common::cache::answer(status, body)
}

/// Checks one poll's answer against the contract; returns the refresh if one was handed out.
fn check_poll(cache: &mut TokenCache, now: UnixTime) -> Result<Option<Ticket>, TestCaseError> {
    let outcome = match cache.poll(now) {
        Poll::Ready(t) => Ok(Some(t.clone())),
        Poll::Refresh(r) => return Ok(Some(r.ticket())),
        Poll::Wait(t) | Poll::InFlight(t) => Err(Some(t)),
        Poll::Failed(_) => Err(None),
    };
    match outcome {
        Ok(Some(token)) => {
            let held = cache.state().token.expect("Ready without a token");
            prop_assert_eq!(&held.access_token, &token);
            prop_assert!(now < held.expires_at, "expired token handed out at {}", now);
        }
        Err(t) => {
            let deadline = cache.next_deadline();
            prop_assert!(
                deadline > now,
                "deadline {} not after now {}",
                deadline,
                now
            );
            if let Some(t) = t {
                prop_assert_eq!(t, deadline);
            }
        }
        Ok(None) => {}
    }
    Ok(None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_cache_keeps_its_promises(ops in prop::collection::vec(op(), 1..120), seed in any::<u64>()) {
        let build = |state: Option<(CacheState, UnixTime)>| {
            let b = TokenCache::builder(ApiBase::default(), secret_creds()).seed(seed);
            match state { Some((s, now)) => b.restore(s, now).build(), None => b.build() }
        };
        let mut cache = build(None);
        let min_interval = cache.config().min_issue_interval();
        let mut now = T0;
        let mut outstanding: Vec<Ticket> = Vec::new();
        let mut serial = 0u64;
        // Time of the last refresh handed out, if the clock only ran forward since.
        let mut last_refresh: Option<UnixTime> = None;
        // Whether an invalidation since the last refresh may have waived the throttle.
        let mut waived = false;
        for op in ops {
            match op {
                Op::Forward(ms) => now = now + Duration::from_millis(ms),
                Op::Back(ms) => { now = now - Duration::from_millis(ms); last_refresh = None; }
                Op::Poll => {
                    // The backoff in force, if the clock only ran forward since it was set.
                    let backoff = last_refresh.and(cache.state().retry_at);
                    if let Some(ticket) = check_poll(&mut cache, now)? {
                        if let Some(prev) = last_refresh.filter(|_| !waived) {
                            prop_assert!(now >= prev + min_interval, "refresh at {} after one at {}", now, prev);
                        }
                        waived = false;
                        if let Some(retry_at) = backoff {
                            prop_assert!(now >= retry_at, "refresh at {} during backoff to {}", now, retry_at);
                        }
                        last_refresh = Some(now);
                        outstanding.push(ticket);
                    }
                }
                Op::Answer { n, answer, again } => {
                    if outstanding.is_empty() { continue; }
                    let i = n % outstanding.len();
                    let ticket = if again { outstanding[i] } else { outstanding.swap_remove(i) };
                    serial += 1;
                    let _ = match respond(&answer, serial) {
                        Some(response) => cache.handle_response(ticket, now, &response),
                        None => cache.handle_transport_failure(ticket, now),
                    };
                }
                Op::Invalidate => {
                    if let Some(t) = cache.state().token {
                        // A rejection may waive the throttle for the next refresh.
                        waived |= cache.invalidate(&t.access_token);
                    }
                }
                Op::Restore(state) => { cache = build(Some((*state, now))); last_refresh = None; }
            }
        }
        // Never stuck: with LINE healthy, a token within a few deadlines, none in the past.
        for _ in 0..8 {
            match cache.poll(now) {
                Poll::Ready(_) => return Ok(()),
                Poll::Refresh(r) => {
                    serial += 1;
                    let _ = cache.handle_response(r.ticket(), now, &issued(&format!("ok{serial}"), 900));
                }
                Poll::Wait(t) | Poll::InFlight(t) => { prop_assert!(t > now); now = t; }
                Poll::Failed(_) => { let t = cache.next_deadline(); prop_assert!(t > now); now = t; }
            }
        }
        prop_assert!(false, "stuck: {:?}", cache);
    }

    #[test]
    fn backoff_is_bounded_and_grows(failures in 1u32..200, random in any::<u64>()) {
        let config = CacheConfig::for_lifetime(Duration::from_secs(900));
        let d = backoff_delay(&config, failures, random);
        prop_assert!(d <= config.backoff_cap());
        let full = config.backoff_base().saturating_mul(1 << (failures - 1).min(31)).min(config.backoff_cap());
        prop_assert!(d >= full / 2);
    }
}

/// `CacheState` names the token kind `kind` (`token_type` is LINE's `"Bearer"` on
/// `IssuedToken`); state saved under the old name `token_type` still restores.
#[test]
fn state_saved_with_token_type_still_loads_and_is_saved_as_kind() {
    let old = r#"{"channel_id":"1234567890","token_type":"v2.1","token":null,"failures":2}"#;
    let state: CacheState = serde_json::from_str(old).unwrap();
    assert_eq!((state.kind, state.failures), (TokenKind::V21, 2));
    let saved = serde_json::to_value(&state).unwrap();
    assert_eq!(saved["kind"], "v2.1");
    assert!(saved.get("token_type").is_none());
    // Both names at once is a duplicate field, refused rather than guessed.
    let both = r#"{"channel_id":"1","kind":"stateless","token_type":"v2.1","token":null}"#;
    assert!(serde_json::from_str::<CacheState>(both).is_err());
}
