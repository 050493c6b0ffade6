//! Arbitrary sequences of polls, answers (any status, any body), transport failures,
//! invalidations, restores of the cache's own state and clock moves either way. The cache
//! must never panic, never hand out a token past its expiry, and every wait must end.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use line_channel_token::cache::{Credentials, Poll, Ticket, TokenCache};
use line_channel_token::{ApiBase, ChannelSecret, UnixTime};

fn build_cache(state: Option<(line_channel_token::cache::CacheState, UnixTime)>) -> TokenCache {
    let creds = Credentials::short_lived("1234567890", ChannelSecret::new("s"));
    let b = TokenCache::builder(ApiBase::default(), creds).seed(7);
    match state {
        Some((s, now)) => b.restore(s, now).build(),
        None => b.build(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut cache = build_cache(None);
    let mut now = UnixTime::from_secs(1_700_000_000);
    let mut tickets: Vec<Ticket> = Vec::new();
    let mut bytes = data.iter().copied();
    let mut next = || bytes.next();
    while let Some(op) = next() {
        let arg = u64::from(next().unwrap_or(0)) << 8 | u64::from(next().unwrap_or(0));
        match op % 8 {
            0 => now = now + Duration::from_millis(arg * 1000),
            1 => now = now - Duration::from_millis(arg * 1000),
            2 | 3 => match cache.poll(now) {
                Poll::Ready(t) => {
                    let t = t.clone();
                    let held = cache.state().token.expect("Ready without a token");
                    assert!(held.access_token == t && now < held.expires_at);
                }
                Poll::Refresh(r) => tickets.push(r.ticket()),
                Poll::Wait(t) | Poll::InFlight(t) => {
                    assert!(t > now && t == cache.next_deadline())
                }
                Poll::Failed(_) => assert!(cache.next_deadline() > now),
            },
            4 | 5 => {
                let Some(&ticket) = tickets.get(arg as usize % tickets.len().max(1)) else {
                    continue;
                };
                let status = [200u16, 200, 200, 400, 401, 429, 500][usize::from(op >> 3) % 7];
                let len = usize::from(next().unwrap_or(0));
                let body: Vec<u8> = (0..len).filter_map(|_| next()).collect();
                let body = if op & 0x80 != 0 {
                    format!(
                        r#"{{"access_token":"t{arg}","expires_in":{}}}"#,
                        u64::from(op) * arg
                    )
                    .into_bytes()
                } else {
                    body
                };
                let Ok(response) = http::Response::builder().status(status).body(body) else {
                    continue;
                };
                let _ = cache.handle_response(ticket, now, &response);
            }
            6 => {
                if let Some(&ticket) = tickets.get(arg as usize % tickets.len().max(1)) {
                    let _ = cache.handle_transport_failure(ticket, now);
                }
                if let Some(t) = cache.state().token {
                    let _ = cache.invalidate(&t.access_token);
                }
            }
            _ => {
                let mut state = cache.state();
                state.retry_at = Some(UnixTime::from_millis(arg.wrapping_mul(u64::MAX / 65_535)));
                state.failures = u32::MAX;
                cache = build_cache(Some((state, now)));
            }
        }
        while cache.poll_event().is_some() {}
        let _ = cache.take_surplus();
    }
});
