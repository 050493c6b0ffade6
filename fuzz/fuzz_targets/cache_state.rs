//! The cache-state deserializer, and a cache restored from whatever it accepts: no panic,
//! no overflow, and never a wait that does not end, whatever the saved numbers are.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_channel_token::cache::{CacheState, Credentials, Poll, TokenCache};
use line_channel_token::{ApiBase, ChannelSecret, UnixTime};

fuzz_target!(|data: &[u8]| {
    let Ok(state) = serde_json::from_slice::<CacheState>(data) else {
        return;
    };
    let creds = Credentials::stateless_by_secret(state.channel_id.clone(), ChannelSecret::new("s"));
    let now = UnixTime::from_secs(1_700_000_000);
    let mut cache = TokenCache::builder(ApiBase::default(), creds)
        .seed(0)
        .restore(state, now)
        .build();
    let _ = cache.token(now);
    let _ = cache.state();
    match cache.poll(now) {
        Poll::Wait(t) | Poll::InFlight(t) => assert!(t > now && t == cache.next_deadline()),
        Poll::Failed(_) => assert!(cache.next_deadline() > now),
        Poll::Ready(_) | Poll::Refresh(_) => {}
    }
});
