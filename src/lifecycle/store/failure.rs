//! How a call to LINE failed, as far as the fleet needs to know.

/// How a refresh failed, as far as the fleet needs to know: no server text is kept. Build it
/// with [`Failure::answered`], [`Failure::unanswered`] or [`Failure::not_sent`].
///
/// ```
/// use line_channel_token::store::Failure;
///
/// assert!(Failure::answered(503).retryable);
/// let refused = Failure::answered(400); // a person must fix the credential
/// assert!(!refused.retryable && refused.status == Some(400));
/// assert!(Failure::unanswered().maybe_issued); // a timeout: LINE may have issued
/// assert!(!Failure::not_sent().maybe_issued);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// Whether trying again may help (429, 5xx, transport errors, timeouts).
    pub retryable: bool,
    /// The HTTP status LINE answered, if it answered.
    pub status: Option<u16>,
    /// Whether LINE may have issued a token all the same (the request left and no answer
    /// came back, or a 5xx came back, which a gateway may send after LINE issued): the
    /// tentative entry then stays counted until a token issued under the lease would have
    /// expired (v2.1: until the next holder lists LINE's key ids).
    pub maybe_issued: bool,
}

impl Failure {
    /// An error `status` came back: retryable for 429 and 5xx, a refusal otherwise (scoped
    /// to this process's credential, see [`StoreConfig::with_credential`](super::StoreConfig::with_credential)).
    ///
    /// A 4xx (429 included) is LINE's own answer: nothing was issued. A 5xx may come from a
    /// gateway in front of LINE (a 502 or 504 after LINE's answer was lost), so LINE may
    /// have issued: [`Failure::maybe_issued`], and the token is counted as if it had.
    pub const fn answered(status: u16) -> Failure {
        Failure {
            retryable: status == 429 || status >= 500,
            status: Some(status),
            maybe_issued: status >= 500,
        }
    }

    /// The request may have reached LINE but no answer came back (a timeout, a reset
    /// connection): retryable, and LINE may have issued.
    pub const fn unanswered() -> Failure {
        Failure {
            retryable: true,
            status: None,
            maybe_issued: true,
        }
    }

    /// The request never left (signing failed, the connection was refused, the lease was too
    /// short to send it): retryable, nothing issued.
    pub const fn not_sent() -> Failure {
        Failure {
            retryable: true,
            status: None,
            maybe_issued: false,
        }
    }
}
