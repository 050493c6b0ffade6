//! How a run fails: one type, one exit code per kind, one table that `--help` and the README
//! repeat. Every failure reaches the terminal through `main`, scrubbed and on one line.

use line_channel_token::{ApiBase, CallError, Error};

/// The exit codes scripts can rely on, as `--help` prints them.
pub const EXIT_CODES: &[(i32, &str)] = &[
    (0, "success"),
    (
        1,
        "LINE refused (a non-retryable 4xx): fix the input; retrying will not help",
    ),
    (
        2,
        "usage or local error: bad option, key, file, permission or API base; stdout a pipe whose reader has gone",
    ),
    (
        3,
        "worth retrying: LINE or the --store unreachable, timeout, 429, 5xx, lock timeout, backing off",
    ),
];

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Wrong or missing arguments: exit 2.
    Usage(String),
    /// A local problem (a file, a key, permissions, a misdirected API base): exit 2.
    Local(String),
    /// LINE refused the request and will refuse it again: exit 1.
    Refused(String),
    /// Trying again later may succeed: exit 3.
    Retry(String),
}

impl Failure {
    /// The process exit code (see [`EXIT_CODES`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Refused(_) => 1,
            Failure::Usage(_) | Failure::Local(_) => 2,
            Failure::Retry(_) => 3,
        }
    }

    /// The message, not yet scrubbed: `main` scrubs and escapes it on the way out.
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Local(m) | Failure::Refused(m) | Failure::Retry(m) => m,
        }
    }
}

/// A usage failure.
pub fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(message.into())
}

/// A local failure.
pub fn local(message: impl std::fmt::Display) -> Failure {
    Failure::Local(message.to_string())
}

/// LINE's error answer, sorted by what a script should do about it.
pub fn from_error(error: &Error) -> Failure {
    let text = error.to_string();
    match error {
        Error::Api(_) if error.is_retryable() => Failure::Retry(text),
        // 408 Request Timeout: the request did not arrive in time (a proxy's or LINE's
        // timeout); RFC 9110 lets the client repeat it.
        Error::Api(_) if error.status() == http::StatusCode::REQUEST_TIMEOUT => {
            Failure::Retry(text)
        }
        Error::Api(_) if error.status().is_client_error() => Failure::Refused(text),
        // 1xx/3xx: something other than LINE answered.
        Error::Api(_) => Failure::Local(format!("{text}; is the API base pointing at LINE?")),
        // A 2xx body that is not LINE's (`Error::Decode`), and kinds `Error` may gain later.
        _ => Failure::Local(text),
    }
}

/// A failed call: no answer at all is worth retrying; an answer is sorted by [`from_error`].
pub fn from_call(api: &ApiBase, error: CallError<ureq::Error>) -> Failure {
    match error {
        CallError::Transport(e) => unreachable(api, &e),
        CallError::Protocol(e) => from_error(&e),
        // Kinds a later version may add: a local failure, never silently success.
        other => Failure::Local(other.to_string()),
    }
}

/// LINE could not be reached (DNS, connection, TLS, timeout): exit 3.
pub fn unreachable(api: &ApiBase, error: &ureq::Error) -> Failure {
    match error {
        // ureq says only "timeout: global": say what took too long, and how long it had.
        ureq::Error::Timeout(ureq::Timeout::Global) => Failure::Retry(format!(
            "could not reach {api}: no complete answer within {} s (the time one request may \
             take, from connecting to the last byte of the answer)",
            support::transport::TIMEOUT.as_secs()
        )),
        ureq::Error::Timeout(which) => Failure::Retry(format!(
            "could not reach {api}: timed out ({which:?}) within {} s",
            support::transport::TIMEOUT.as_secs()
        )),
        _ => Failure::Retry(format!("could not reach {api}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_says_what_timed_out_and_after_how_long() {
        let api = ApiBase::new("http://127.0.0.1:9").unwrap();
        let f = unreachable(&api, &ureq::Error::Timeout(ureq::Timeout::Global));
        assert_eq!(f.exit_code(), 3);
        assert_eq!(
            f.message(),
            "could not reach http://127.0.0.1:9: no complete answer within 30 s (the time one \
             request may take, from connecting to the last byte of the answer)"
        );
    }
}
