//! Running an endpoint through the caller's HTTP client: [`call`], [`call_async`] and the
//! [`CallError`] that separates transport failures from LINE's answers.

use std::fmt;
use std::future::Future;

use http::{Request, Response};

use crate::protocol::api_base::ApiBase;
use crate::protocol::endpoints::Endpoint;
use crate::protocol::error::Error;
use crate::protocol::known_secrets::KnownSecrets;

/// A failed [`call`]: either your transport failed (no response at all) or LINE's response was
/// an error.
///
/// `#[non_exhaustive]`, as every public error enum of the crate: match `Transport` and
/// `Protocol`, and treat anything else as a failure.
///
/// ```
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{call, ApiBase, CallError, ChannelSecret, IssueShortLived, UnixTime};
///
/// let mut line = Emulator::new();
/// line.add_channel("1234567890", ChannelSecret::new("right"));
/// let wrong = ChannelSecret::new("wrong");
/// let now = UnixTime::from_secs(1_700_000_000);
/// let send = |req| Ok::<_, std::io::Error>(line.handle(now, &req));
/// match call(&ApiBase::default(), &IssueShortLived::new("1234567890", &wrong), send) {
///     Err(CallError::Protocol(e)) => assert_eq!(e.status(), 400), // LINE refused the secret
///     Err(CallError::Transport(e)) => panic!("no response: {e}"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum CallError<T> {
    /// The HTTP client could not get a response (DNS, TLS, connection, timeout).
    Transport(T),
    /// A response came back but was an error or did not parse.
    Protocol(Error),
}

impl<T> CallError<T> {
    /// Transport failures and retryable protocol errors (429, 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Transport(_) => true,
            CallError::Protocol(e) => e.is_retryable(),
        }
    }
}

impl<T: fmt::Display> fmt::Display for CallError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Transport(e) => write!(f, "could not reach the LINE API: {e}"),
            CallError::Protocol(e) => e.fmt(f),
        }
    }
}

impl<T: std::error::Error + 'static> std::error::Error for CallError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Transport(e) => Some(e),
            CallError::Protocol(e) => Some(e),
        }
    }
}

/// Runs an endpoint on any blocking HTTP client: `send` turns a request into a response.
///
/// # Errors
///
/// [`CallError::Transport`] with `send`'s error if no response came back;
/// [`CallError::Protocol`] if the response was not a success or did not parse
/// (see [`Endpoint::parse_response`]). The request's secrets (`client_secret`,
/// `client_assertion`, `access_token`) are redacted from the error in any encoding a server
/// may echo them in.
///
/// ```
/// use line_channel_token::http;
/// use line_channel_token::{call, ApiBase, Endpoint, IssueStateless, ChannelSecret};
///
/// let secret = ChannelSecret::new("s3cret");
/// let op = IssueStateless::by_secret("1234567890", &secret);
/// // A stand-in transport; with ureq 3 this is `|req| agent.run(req)` plus reading the body.
/// let token = call(&ApiBase::default(), &op, |req| {
///     assert_eq!(req.uri().path(), "/oauth2/v3/token");
///     Ok::<_, std::io::Error>(http::Response::new(
///         br#"{"token_type":"Bearer","access_token":"eyJhbGciOiJIUz.....","expires_in":899}"#,
///     ))
/// })
/// .unwrap();
/// assert_eq!(token.expires_in, 899);
/// ```
pub fn call<E, F, B, T>(api: &ApiBase, endpoint: &E, send: F) -> Result<E::Output, CallError<T>>
where
    E: Endpoint,
    F: FnOnce(Request<Vec<u8>>) -> Result<Response<B>, T>,
    B: AsRef<[u8]>,
{
    let request = endpoint.to_request(api);
    let known = KnownSecrets::of_request(&request);
    let response = send(request).map_err(CallError::Transport)?;
    E::parse_response(&response).map_err(|e| CallError::Protocol(e.redact_known(&known)))
}

/// [`call`] for async clients: `send` returns a future. No runtime is involved; the crate only
/// awaits your future.
///
/// # Errors
///
/// As [`call`]: [`CallError::Transport`] if `send` failed, [`CallError::Protocol`] if the
/// response was an error or did not parse.
///
/// ```
/// use line_channel_token::http;
/// # async fn demo() {
/// use line_channel_token::{call_async, ApiBase, AccessToken, Revoke};
/// let token = AccessToken::new("W1TeHCgfH2Liwa");
/// call_async(&ApiBase::default(), &Revoke::new(&token), |req| async move {
///     // e.g. reqwest: convert `req`, send, collect the body into an `http::Response<Vec<u8>>`
///     Ok::<_, std::io::Error>(http::Response::new(Vec::new()))
/// })
/// .await
/// .unwrap();
/// # }
/// ```
pub async fn call_async<E, F, Fut, B, T>(
    api: &ApiBase,
    endpoint: &E,
    send: F,
) -> Result<E::Output, CallError<T>>
where
    E: Endpoint,
    F: FnOnce(Request<Vec<u8>>) -> Fut,
    Fut: Future<Output = Result<Response<B>, T>>,
    B: AsRef<[u8]>,
{
    let request = endpoint.to_request(api);
    let known = KnownSecrets::of_request(&request);
    let response = send(request).await.map_err(CallError::Transport)?;
    E::parse_response(&response).map_err(|e| CallError::Protocol(e.redact_known(&known)))
}
