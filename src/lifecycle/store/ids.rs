//! Who writes to the record: a process incarnation ([`OwnerId`]) and the credential it
//! refreshes with ([`CredentialId`]).

use std::fmt;

/// Identifies one process incarnation holding (or asking for) a lease.
///
/// Draw it at random when the process starts, and draw a new one after a restart: a process
/// that comes back must not inherit the lease of the one that died. Two processes with the same
/// id would both believe they hold the lease (the version still fences their writes).
///
/// ```
/// use line_channel_token::store::OwnerId;
/// use line_channel_token::rand_core::TryRng;
/// let me = OwnerId::new(line_channel_token::OsRng.try_next_u64().expect("the OS RNG works"));
/// assert_eq!(OwnerId::new(7).get(), 7);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct OwnerId(u64);

impl OwnerId {
    /// Wraps a random number drawn by the caller.
    pub const fn new(random: u64) -> Self {
        OwnerId(random)
    }

    /// The raw number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Which credential a process refreshes with, as a fingerprint: a refusal (a wrong channel
/// secret, a revoked key) pauses only the processes holding the same credential, so one
/// misconfigured process cannot stop a fleet whose other processes hold a good one.
///
/// The fingerprint is the first 8 bytes of SHA-256 over a label of its own,
/// `line-channel-token/credential/v1` and a NUL byte, then what the caller passes: for a key,
/// the channel ID, the `kid` and the public key's RFC 7638 thumbprint
/// (`SigningKey::public_jwk().thumbprint()`), as the CLI does (`ID:kid:KID:THUMBPRINT`), so a
/// wrong key under the right `kid` pauses only the processes holding it; for a secret, the
/// channel ID and the secret itself (it is hashed, never kept). The label keeps it apart
/// from any other SHA-256 of the same bytes, so the record holds nothing another use of the
/// secret's hash could be matched against. A refusal noted
/// by an earlier build, with an unlabelled fingerprint, is still read: it matches no
/// credential, so each process tries once more and a refusal then is noted anew.
///
/// ```
/// use line_channel_token::store::CredentialId;
/// use sha2::{Digest, Sha256};
/// assert_eq!(CredentialId::of(b"kid-1"), CredentialId::of(b"kid-1"));
/// assert_ne!(CredentialId::of(b"kid-1"), CredentialId::of(b"kid-2"));
/// let labelled = Sha256::digest(b"line-channel-token/credential/v1\0kid-1");
/// let first = u64::from_be_bytes(labelled[..8].try_into().unwrap());
/// // The record stores it as a number.
/// assert_eq!(serde_json::to_value(CredentialId::of(b"kid-1")).unwrap(), first);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CredentialId(u64);

impl CredentialId {
    /// What the hash starts with: this crate's name for the use, a version, a NUL.
    const LABEL: &'static [u8] = b"line-channel-token/credential/v1\0";

    /// The fingerprint of `credential` (hashed: the bytes are not kept).
    pub fn of(credential: &[u8]) -> CredentialId {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(Self::LABEL)
            .chain_update(credential)
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        CredentialId(u64::from_be_bytes(first))
    }
}
