//! The cache-state deserializer, and a cache restored from whatever it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_channel_token::cache::{CacheConfig, CacheState, Credentials, TokenCache};
use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(state) = serde_json::from_slice::<CacheState>(data) else {
        return;
    };
    let creds = Credentials::stateless_by_secret(state.channel_id.clone(), ChannelSecret::new("s"));
    let config = CacheConfig::for_lifetime(Duration::from_secs(900));
    let mut cache = TokenCache::restore(ApiBase::default(), creds, config, state);
    let now = UnixTime::from_secs(1_700_000_000);
    let _ = cache.next_deadline();
    let _ = cache.token(now);
    let _ = cache.poll(now, &mut Zero);
});

/// A fixed RNG: the fuzzer wants determinism, and no signing happens with secret credentials.
struct Zero;
impl line_channel_token::rand_core::TryRng for Zero {
    type Error = line_channel_token::rand_core::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        dest.fill(0);
        Ok(())
    }
}
impl line_channel_token::rand_core::TryCryptoRng for Zero {}
