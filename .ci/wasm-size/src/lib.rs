//! Exported to the WASM host: sign a LINE client assertion and build the v2.1 issuance request.
use line_channel_token::rand_core::{CryptoRng, Error, RngCore};
use line_channel_token::{ApiBase, AssertionBuilder, Endpoint, IssueV21, SigningKey, UnixTime};

/// A stand-in for `crypto.getRandomValues`: the host passes a seed.
struct HostRng(u64);
impl RngCore for HostRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.iter_mut().for_each(|b| *b = self.next_u64() as u8)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for HostRng {}

/// Returns the request body's length, or 0 on any error.
#[no_mangle]
pub extern "C" fn sign_and_build(now_secs: u64, seed: u64) -> u32 {
    let Ok(key) = SigningKey::parse(include_str!("../../../tests/keys/line-docs-pyjwt.jwk.json"))
    else {
        return 0;
    };
    let builder = AssertionBuilder::new("1234567890", "kid")
        .token_exp(std::time::Duration::from_secs(86_400));
    let Ok(assertion) = builder.sign(&key, UnixTime::from_secs(now_secs), &mut HostRng(seed))
    else {
        return 0;
    };
    IssueV21::new(&assertion)
        .to_request(&ApiBase::default())
        .body()
        .len() as u32
}
