//! The caller's RNG, type-erased before it reaches `rsa`, so that `rsa`'s private-key code is
//! compiled once whatever RNG types callers use (a WASM module's size counts).

use std::fmt;

use rsa::rand_core::{utils, TryCryptoRng, TryRng};

/// Filling bytes is all `rsa` asks of an RNG. (Also how the cache's kept blinding RNG
/// reaches the signer.)
pub(crate) trait Fill {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RngFailed>;
}

/// A caller's RNG, behind [`Fill`].
struct Caller<'a, R: ?Sized>(&'a mut R);

impl<R: TryCryptoRng + ?Sized> Fill for Caller<'_, R> {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RngFailed> {
        self.0.try_fill_bytes(dest).map_err(|_| RngFailed)
    }
}

/// The one RNG type `rsa` is instantiated with.
pub(crate) struct Erased<'a>(pub(crate) &'a mut dyn Fill);

/// The caller's RNG failed. (Its own error is dropped: it might say anything.)
#[derive(Debug)]
pub(crate) struct RngFailed;

impl fmt::Display for RngFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the random number generator failed")
    }
}

impl std::error::Error for RngFailed {}

impl TryRng for Erased<'_> {
    type Error = RngFailed;
    fn try_next_u32(&mut self) -> Result<u32, RngFailed> {
        utils::next_word_via_fill(self)
    }
    fn try_next_u64(&mut self) -> Result<u64, RngFailed> {
        utils::next_word_via_fill(self)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RngFailed> {
        self.0.fill(dest)
    }
}

/// Only ever built from a caller's `TryCryptoRng`.
impl TryCryptoRng for Erased<'_> {}

/// Runs `f` with the caller's RNG, erased.
pub(crate) fn with_rng<R: TryCryptoRng + ?Sized, T>(
    rng: &mut R,
    f: impl FnOnce(&mut Erased<'_>) -> T,
) -> T {
    f(&mut Erased(&mut Caller(rng)))
}
