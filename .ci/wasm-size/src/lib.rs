//! The edge story, end to end: what a Cloudflare or Deno worker does with this crate. With the
//! `round-trip` feature the module builds the request, the JavaScript host sends it with `fetch`
//! and hands the answer back, and the module parses it and keeps the token in a cache;
//! `run.mjs` drives that against `line-emulator` on 127.0.0.1. Without the feature it only
//! loads a key, signs an assertion and builds a request: CI reports both sizes.
//!
//! The ABI is plain WASM (no wasm-bindgen): the host writes bytes into the module's input
//! buffer (`input_ptr`, `input_capacity`) and reads answers from its output buffer
//! (`output_ptr`, `output_len`). Randomness comes from the host's `crypto.getRandomValues`,
//! written with `feed_entropy`; the module has no imports at all (no clock, no OS RNG).

use std::sync::Mutex;

#[cfg(feature = "round-trip")]
use line_channel_token::cache::{Credentials, Handled, Poll, Ticket, TokenCache};
use line_channel_token::rand_core::{TryCryptoRng, TryRng};
use line_channel_token::{ApiBase, AssertionBuilder, Endpoint, IssueV21, SigningKey, UnixTime};

const KEY: &str = include_str!("../../../tests/keys/line-docs-pyjwt.jwk.json");
const CHANNEL: &str = "1234567890";

/// What the module keeps between calls (single-threaded WASM: the mutex never contends).
struct State {
    input: Vec<u8>,
    output: Vec<u8>,
    key: Option<SigningKey>,
    #[cfg(feature = "round-trip")]
    cache: Option<TokenCache>,
    #[cfg(feature = "round-trip")]
    ticket: Option<Ticket>,
}

static STATE: Mutex<State> = Mutex::new(State {
    input: Vec::new(),
    output: Vec::new(),
    key: None,
    #[cfg(feature = "round-trip")]
    cache: None,
    #[cfg(feature = "round-trip")]
    ticket: None,
});

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut guard = STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut guard)
}

/// Random bytes the host got from `crypto.getRandomValues`; each is used once. Running out is
/// an RNG error (the signer reports it), never a repeat. Its own lock: the cache keeps an
/// owned RNG (inside `STATE`) and draws from here while `STATE` is held.
static ENTROPY: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// The host's entropy as an RNG the signer and the cache can own.
struct HostEntropy;

impl TryRng for HostEntropy {
    type Error = std::fmt::Error;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        let mut pool = ENTROPY.lock().unwrap_or_else(|p| p.into_inner());
        let start = pool.len().checked_sub(dest.len()).ok_or(std::fmt::Error)?;
        dest.copy_from_slice(&pool[start..]);
        pool.truncate(start);
        Ok(())
    }
}

impl TryCryptoRng for HostEntropy {}

/// Where the host writes its input; `input_capacity` bytes are available.
#[no_mangle]
pub extern "C" fn input_ptr() -> *mut u8 {
    with(|s| {
        if s.input.len() < 64 * 1024 {
            s.input = vec![0; 64 * 1024];
        }
        s.input.as_mut_ptr()
    })
}

/// The size of the input buffer.
#[no_mangle]
pub extern "C" fn input_capacity() -> u32 {
    with(|s| s.input.len() as u32)
}

/// The module's last answer.
#[no_mangle]
pub extern "C" fn output_ptr() -> *const u8 {
    with(|s| s.output.as_ptr())
}

/// The length of the module's last answer.
#[no_mangle]
pub extern "C" fn output_len() -> u32 {
    with(|s| s.output.len() as u32)
}

#[cfg(feature = "round-trip")]
fn input(s: &State, len: u32) -> Option<String> {
    let bytes = s.input.get(..len as usize)?;
    String::from_utf8(bytes.to_vec()).ok()
}

/// The first `len` input bytes are random bytes for blinding.
#[no_mangle]
pub extern "C" fn feed_entropy(len: u32) -> u32 {
    let fresh = with(|s| s.input.get(..len as usize).unwrap_or_default().to_vec());
    let mut pool = ENTROPY.lock().unwrap_or_else(|p| p.into_inner());
    pool.extend_from_slice(&fresh);
    pool.len() as u32
}

/// Loads the assertion signing key; the output is its public JWK (to register in the Console,
/// here the emulator). Returns 1, or 0 on error.
#[no_mangle]
pub extern "C" fn load_key() -> u32 {
    // `from_jwk`, not `parse`: a worker that keeps its key as a JWK links no PEM/DER decoder.
    with(|s| match SigningKey::from_jwk(KEY) {
        Ok(key) => {
            s.output = key.public_jwk().to_json().into_bytes();
            s.key = Some(key);
            1
        }
        Err(e) => {
            s.output = e.to_string().into_bytes();
            0
        }
    })
}

#[cfg(feature = "round-trip")]
/// Input: `API_BASE KID`. Sets up a token cache for stateless tokens issued by assertion.
/// Returns 1, or 0 on error (the output says why).
#[no_mangle]
pub extern "C" fn configure(len: u32) -> u32 {
    with(|s| {
        let Some(text) = input(s, len) else { return 0 };
        let Some((base, kid)) = text.split_once(' ') else {
            return 0;
        };
        let (Ok(api), Some(key)) = (ApiBase::new(base), s.key.clone()) else {
            s.output = b"bad API base, or no key loaded".to_vec();
            return 0;
        };
        let Ok(credentials) =
            Credentials::stateless_by_assertion(CHANNEL, kid, key, Box::new(HostEntropy))
        else {
            s.output = b"a kid LINE refuses".to_vec();
            return 0;
        };
        // Jitter seed from the host's entropy: workers must not refresh in lockstep.
        let Ok(seed) = HostEntropy.try_next_u64() else {
            s.output = b"feed entropy first".to_vec();
            return 0;
        };
        s.cache = Some(TokenCache::builder(api, credentials).seed(seed).build());
        1
    })
}

#[cfg(feature = "round-trip")]
/// Asks the cache what to do at `now_secs`. Returns 1 = ready (output: the access token, for
/// the host's `Authorization: Bearer` header), 2 = send this request (output: the request as
/// text, see below), 3 = wait, 4 = failed (output: why), 0 = not set up.
#[no_mangle]
pub extern "C" fn poll(now_secs: u64) -> u32 {
    with(|s| {
        let State {
            cache: Some(cache), ..
        } = s
        else {
            return 0;
        };
        let now = UnixTime::from_secs(now_secs);
        let (code, output, ticket) = match cache.poll(now) {
            Poll::Ready(token) => (1, token.expose_secret().to_owned(), None),
            Poll::Refresh(refresh) => {
                let (ticket, request) = refresh.into_parts();
                // Plain text, not JSON: "METHOD URL", one "name: value" line per header,
                // an empty line, then the body (a form: ASCII). Parsed by run.mjs.
                let mut text = format!("{} {}\n", request.method(), request.uri());
                for (name, value) in request.headers() {
                    text.push_str(name.as_str());
                    text.push_str(": ");
                    text.push_str(value.to_str().unwrap_or_default());
                    text.push('\n');
                }
                text.push('\n');
                text.push_str(std::str::from_utf8(request.body()).unwrap_or_default());
                (2, text, Some(ticket))
            }
            Poll::Wait(until) | Poll::InFlight(until) => (3, until.as_secs().to_string(), None),
            Poll::Failed(failure) => (4, failure.message.clone(), None),
        };
        s.output = output.into_bytes();
        if ticket.is_some() {
            s.ticket = ticket;
        }
        code
    })
}

#[cfg(feature = "round-trip")]
/// Input: the response body, `len` bytes, with HTTP `status`. Returns 1 when the cache took
/// the token, 0 otherwise (output: why).
#[no_mangle]
pub extern "C" fn handle_response(status: u32, len: u32, now_secs: u64) -> u32 {
    with(|s| {
        let body = s.input.get(..len as usize).unwrap_or_default().to_vec();
        let Ok(response) = http::Response::builder().status(status as u16).body(body) else {
            return 0;
        };
        let State {
            cache: Some(cache),
            ticket: Some(ticket),
            ..
        } = s
        else {
            return 0;
        };
        let now = UnixTime::from_secs(now_secs);
        match cache.handle_response(*ticket, now, &response) {
            Handled::Stored => 1,
            Handled::Failed(failure) => {
                s.output = failure.message.into_bytes();
                0
            }
            _ => 0,
        }
    })
}

/// The size probe: sign a v2.1 assertion and build the issuance request with no host at all.
/// Returns the request body's length, or 0 on any error.
#[no_mangle]
pub extern "C" fn sign_and_build(now_secs: u64) -> u32 {
    with(|s| {
        let Some(key) = s.key.clone() else { return 0 };
        let builder =
            AssertionBuilder::new(CHANNEL, "kid").token_exp(std::time::Duration::from_secs(86_400));
        let now = UnixTime::from_secs(now_secs);
        let Ok(assertion) = builder.sign(&key, now, &mut HostEntropy) else {
            return 0;
        };
        IssueV21::new(&assertion)
            .to_request(&ApiBase::default())
            .body()
            .len() as u32
    })
}
