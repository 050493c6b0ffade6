//! `token`: a valid access token, from a cache every process on the machine shares.
//!
//! One run: check the options (before touching any file), open the store (which takes the
//! lock), read the clock, load, poll the crate's `TokenCache` and send at most one refresh,
//! save, read the clock again, and print only a token that is still valid then.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use line_channel_token::cache::{
    self, CacheConfig, CacheState, Credentials, DriveError, Event, FailureKind, RefreshFailure,
    TokenCache,
};
use line_channel_token::{
    AssertionBuilder, ChannelSecret, OsRng, TokenKind, UnixTime, MAX_TOKEN_EXP,
};

use crate::cache_file::{FileStore, Store};
use crate::commands::Output;
use crate::failure::{self, local, usage, Failure};
use crate::net::Net;
use crate::options::Options;
use crate::secrets::KeyText;
use crate::{scrub, secrets, time_text};

/// A backoff saved by an earlier process delays this one at most this long: once LINE answers
/// again, runs recover within this bound, while a storm of runs still sends at most one
/// request per bound (they queue on the lock).
const INHERITED_BACKOFF_MAX: Duration = Duration::from_secs(5);

const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

fn clock() -> UnixTime {
    UnixTime::from(SystemTime::now())
}

pub fn run(net: &Net, opts: &Options) -> Result<Output, Failure> {
    if opts.given("store") {
        return crate::fleet::run(net, opts);
    }
    let mut warnings = Vec::new();
    match cached(net, opts, &mut warnings) {
        Ok(text) => Ok(Output { text, warnings }),
        // A failed run's warnings (a skewed clock, a file narrowed to 0600) matter as much.
        Err(failure) => {
            crate::print_warnings(&warnings);
            Err(failure)
        }
    }
}

/// The token from the cache file, or why not; `warnings` go to stderr either way.
fn cached(net: &Net, opts: &Options, warnings: &mut Vec<String>) -> Result<String, Failure> {
    let store_only = [
        "store-prefix",
        "store-lease",
        "store-budget",
        "store-ca",
        "rejected-token-file",
    ];
    if store_only.iter().any(|o| opts.given(o)) {
        return Err(usage(
            "--store-prefix, --store-ca, --store-lease, --store-budget and \
             --rejected-token-file need --store",
        ));
    }
    let inputs = inputs(opts)?;
    let config = config(opts, inputs.lifetime())?;
    let path = PathBuf::from(opts.require("cache")?);
    let lock_timeout = opts
        .seconds("lock-timeout")?
        .unwrap_or(DEFAULT_LOCK_TIMEOUT);

    // One process at a time per cache: the others wait here, then find the token the first
    // one saved, so N processes issue one token, not N.
    let mut store = open_store(&path, lock_timeout)?;
    let loaded = store.load(warnings)?;
    if let Some(t) = loaded.state.as_ref().and_then(|s| s.token.as_ref()) {
        scrub::register(t.access_token.expose_secret());
    }
    // The clock is read after the lock: the wait may have been long.
    let now = clock();
    if let Some(state) = &loaded.state {
        refuse_another_entry(&path, state, &inputs, now)?;
    }
    // The credential LINE refused, brought again: its answer stands until the refusal's
    // backoff ends, and asking again would only be refused again.
    // Unless the refusal ends further ahead than any refusal waits: it was saved while the
    // clock ran ahead, and standing by it would answer for as long as the clock was off.
    let clock_went_back = loaded
        .state
        .as_ref()
        .and_then(|s| s.retry_at)
        .is_some_and(|r| r > now + config.failure_pause());
    let same_refused = !opts.given("force-refresh")
        && !clock_went_back
        && loaded.refused_credential.as_deref() == Some(inputs.fingerprint.as_str());
    if let Some(refusal) = loaded
        .state
        .as_ref()
        .filter(|_| same_refused)
        .and_then(|s| remembered_refusal(s, now))
    {
        return Err(refusal);
    }
    // A warm hit needs no key: loading one costs a test signature.
    let fresh = loaded
        .state
        .as_ref()
        .filter(|_| !opts.given("force-refresh") && !loaded.outdated)
        .and_then(|s| fresh_token(s, &inputs, &config, now));
    if let Some(token) = fresh.filter(|t| scrub::printable(t)) {
        return Ok(token);
    }
    let credential = inputs.fingerprint.clone();
    let credentials = inputs.credentials()?;
    let mut inherited_backoff = None;
    let mut builder = TokenCache::builder(net.api.clone(), credentials).config(config);
    if let Some(state) = loaded.state {
        let state = inherit(state, now, &config, same_refused);
        inherited_backoff = inherited_wait(&state, now, &config);
        builder = builder.restore(state, now);
    }
    let mut cache = builder.build();
    if opts.given("force-refresh") {
        if let Some(current) = cache.token(now).cloned() {
            let _ = cache.invalidate(&current);
        }
    }
    // A backoff an earlier run saved is honoured, for at most INHERITED_BACKOFF_MAX.
    if let Some(until) = inherited_backoff {
        if cache.token(now).is_none() {
            std::thread::sleep(until - now);
        }
    }
    let saved = cache.state();
    let mut result = drive(net, &mut cache, warnings);
    if cache.state() != saved || loaded.outdated {
        store.save(&cache.state(), refused(&cache, &credential))?;
    }
    // And again before printing: never print a token that has expired meanwhile.
    if result.is_ok() && cache.token(clock()).is_none() {
        result = drive(net, &mut cache, warnings);
        store.save(&cache.state(), refused(&cache, &credential))?;
        if result.is_ok() && cache.token(clock()).is_none() {
            result = Err(Failure::Retry(
                "every token obtained expired before it could be printed; is the clock right?"
                    .into(),
            ));
        }
    }
    let token = result?;
    if !scrub::printable(&token) {
        return Err(local(
            "LINE's answer holds a token with characters no token has (not shown)",
        ));
    }
    Ok(token)
}

/// A file holds one channel's token of one type. A run for another channel or `--type` would
/// throw away the token in it while it is still good: a short-lived or v2.1 token that still
/// counts against LINE's 30, and two jobs sharing the file would issue on every run. Refused
/// (exit 2) while the token is valid; an expired one is replaced.
fn refuse_another_entry(
    path: &Path,
    state: &CacheState,
    inputs: &Inputs,
    now: UnixTime,
) -> Result<(), Failure> {
    let ours = state.channel_id == inputs.channel_id && state.kind == inputs.kind;
    match &state.token {
        Some(t) if !ours && t.expires_at > now => Err(local(format!(
            "{} holds a {} token of channel {}, valid until {}; give each channel and --type its \
             own cache file, or delete this one",
            path.display(),
            state.kind.as_str(),
            state.channel_id,
            time_text::at(t.expires_at, now),
        ))),
        _ => Ok(()),
    }
}

/// The backend that keeps the state between runs, locked for this run. (`--store`, a fleet's
/// Redis, runs the library's store protocol instead: see `fleet.rs`.)
fn open_store(path: &Path, lock_timeout: Duration) -> Result<Box<dyn Store>, Failure> {
    Ok(Box::new(FileStore::open(path, lock_timeout)?))
}

/// The fingerprint to save with the state: the credential, when LINE refused it.
fn refused<'a>(cache: &TokenCache, credential: &'a str) -> Option<&'a str> {
    let state = cache.state();
    state
        .last_failure
        .as_ref()
        .is_some_and(|f| !f.retryable)
        .then_some(credential)
}

/// A saved refusal of the credential this run brings, while its backoff lasts and no token
/// is left to print: the same answer, at once, without asking LINE.
fn remembered_refusal(state: &CacheState, now: UnixTime) -> Option<Failure> {
    let failure = state.last_failure.as_ref().filter(|f| !f.retryable)?;
    let until = state.retry_at.filter(|&t| t > now)?;
    if state.token.as_ref().is_some_and(|t| t.expires_at > now) {
        return None;
    }
    Some(classify(
        failure,
        format!(
            "{} (an earlier run's answer: {})",
            failure.message,
            refusal_rule(until, now)
        ),
    ))
}

/// What happens after a refusal, in the words every message uses.
fn refusal_rule(until: UnixTime, now: UnixTime) -> String {
    format!(
        "runs with this credential give this answer without asking LINE until {}; a changed \
         credential, or --force-refresh, asks at once",
        time_text::at(until, now)
    )
}

/// Saved state as this process takes it over. A refresh in flight can only be a dead
/// process's (it held the lock). A refusal stands for the credential LINE refused
/// (`same_refused`); any other credential is asked about at once. A backoff after a
/// retryable failure, and the issuance throttle after any failed refresh (LINE issued
/// nothing), are honoured for at most [`INHERITED_BACKOFF_MAX`].
fn inherit(
    mut state: CacheState,
    now: UnixTime,
    config: &CacheConfig,
    same_refused: bool,
) -> CacheState {
    state.in_flight_since = None;
    let failed = state.last_failure.is_some();
    let refusal = state.last_failure.as_ref().is_some_and(|f| !f.retryable);
    if refusal && same_refused {
        return state;
    }
    let bound = now + INHERITED_BACKOFF_MAX;
    if refusal {
        state.last_failure = None;
        state.retry_at = None;
        // The refused request issued nothing: nothing to throttle.
        state.last_refresh_at = None;
    }
    state.retry_at = state.retry_at.map(|r| r.min(bound));
    if failed {
        let latest = bound - config.min_issue_interval();
        state.last_refresh_at = state.last_refresh_at.map(|t| t.min(latest));
    }
    state
}

/// How long an inherited backoff or throttle holds this run back (at most
/// [`INHERITED_BACKOFF_MAX`]), when it has no usable token to print meanwhile.
fn inherited_wait(state: &CacheState, now: UnixTime, config: &CacheConfig) -> Option<UnixTime> {
    state.last_failure.as_ref()?;
    let throttle = state
        .last_refresh_at
        .map(|t| t + config.min_issue_interval());
    let until = state.retry_at.max(throttle).filter(|&t| t > now)?;
    Some(until.min(now + INHERITED_BACKOFF_MAX))
}

/// The crate's driver, through the CLI's scrubbing transport. The driver never sits out a
/// backoff, so a run sends at most one refresh per backoff step and then reports.
fn drive(net: &Net, cache: &mut TokenCache, warnings: &mut Vec<String>) -> Result<String, Failure> {
    let before = cache.last_failure().cloned();
    let result = cache::drive(cache, clock, std::thread::sleep, |request| {
        net.send(request)
    });
    while let Some(event) = cache.poll_event() {
        if let Event::ClockSkew { now, line } = event {
            let said = warnings
                .iter()
                .any(|w| w.starts_with("this host's clock is"));
            if !said {
                warnings.push(time_text::skew(now, line));
            }
        }
    }
    match result {
        Ok(token) => {
            scrub::register(token.expose_secret());
            // A refresh failed but the token held is still valid: say so, and use it.
            if let Some(failure) = cache.last_failure().filter(|f| Some(*f) != before.as_ref()) {
                let until = cache.state().token.map(|t| t.expires_at);
                if let Some(until) = until {
                    warnings.push(format!(
                        "refresh failed, the cached token is still valid until {}: {}",
                        time_text::at(until, clock()),
                        failure.message
                    ));
                }
            }
            Ok(token.expose_secret().to_owned())
        }
        Err(DriveError::Transport { error, .. }) => Err(failure::unreachable(&net.api, &error)),
        Err(DriveError::Refresh { failure, retry_at }) => Err(from_refresh(&failure, retry_at)),
        Err(other) => Err(local(other)),
    }
}

/// A refresh that left no usable token, sorted by what a script should do about it, saying
/// when the next run asks LINE again.
fn from_refresh(f: &RefreshFailure, retry_at: UnixTime) -> Failure {
    let now = clock();
    let message = if f.retryable {
        let next = retry_at.min(now + INHERITED_BACKOFF_MAX);
        format!(
            "{}; the next run asks LINE again, {} at the earliest",
            f.message,
            time_text::at(next, now)
        )
    } else {
        format!("{}; {}", f.message, refusal_rule(retry_at, now))
    };
    classify(f, message)
}

/// The exit a failure calls for: retry (3), refused (1) or local (2).
fn classify(f: &RefreshFailure, message: String) -> Failure {
    match &f.kind {
        _ if f.retryable => Failure::Retry(message),
        // 408 Request Timeout: the client may repeat the request (RFC 9110).
        FailureKind::Refused { status, .. } if (400..500).contains(status) && *status != 408 => {
            Failure::Refused(message)
        }
        _ => Failure::Local(message),
    }
}

/// What `token` was given: the channel, the type and the credential, read (files, stdin, the
/// environment) but with any key not yet parsed, and the credential's fingerprint.
struct Inputs {
    channel_id: String,
    kind: TokenKind,
    token_exp: Duration,
    credential: Credential,
    fingerprint: String,
}

enum Credential {
    Secret(ChannelSecret),
    Key(String, KeyText),
}

fn inputs(opts: &Options) -> Result<Inputs, Failure> {
    let channel_id = opts.require("channel-id")?;
    let kind = token_kind(opts.get("type").as_deref())?;
    let token_exp = opts.seconds("token-exp")?.unwrap_or(MAX_TOKEN_EXP);
    let credential = match kind {
        TokenKind::Stateless => match secrets::stateless_unparsed(opts)? {
            secrets::Stateless::Secret(secret) => Credential::Secret(secret),
            secrets::Stateless::Key(kid, key) => Credential::Key(kid, key),
        },
        TokenKind::ShortLived => Credential::Secret(secrets::require_channel_secret(opts)?),
        TokenKind::V21 => {
            // Check token_exp now, before any file is touched.
            AssertionBuilder::new(&channel_id, "kid")
                .token_exp(token_exp)
                .claims(UnixTime::EPOCH)
                .map_err(local)?;
            let (kid, key) = secrets::signing_key_unparsed(opts)?;
            Credential::Key(kid, key)
        }
        TokenKind::LongLived => {
            return Err(usage(format!(
                "--type {}: long-lived tokens are issued in the LINE Developers Console, not \
                 by line-token; {}",
                TokenKind::LongLived,
                types_hint()
            )))
        }
    };
    let head = [channel_id.as_bytes(), kind.as_str().as_bytes()];
    let fingerprint = match &credential {
        Credential::Secret(s) => {
            secrets::fingerprint(&[head[0], head[1], b"secret", s.expose_secret().as_bytes()])
        }
        Credential::Key(kid, key) => {
            secrets::fingerprint(&[head[0], head[1], b"key", kid.as_bytes(), key.as_bytes()])
        }
    };
    Ok(Inputs {
        channel_id,
        kind,
        token_exp,
        credential,
        fingerprint,
    })
}

impl Inputs {
    fn lifetime(&self) -> Duration {
        self.kind.fixed_lifetime().unwrap_or(self.token_exp)
    }

    /// The cache's credentials: only now is a key parsed (and proved sound by a signature).
    fn credentials(self) -> Result<Credentials, Failure> {
        let id = &self.channel_id;
        Ok(match (self.kind, self.credential) {
            (TokenKind::ShortLived, Credential::Secret(s)) => Credentials::short_lived(id, s),
            (_, Credential::Secret(s)) => Credentials::stateless_by_secret(id, s),
            (TokenKind::V21, Credential::Key(kid, key)) => {
                Credentials::v21(id, kid, key.parse()?, self.token_exp, Box::new(OsRng))
                    .map_err(local)?
            }
            (_, Credential::Key(kid, key)) => {
                Credentials::stateless_by_assertion(id, kid, key.parse()?, Box::new(OsRng))
                    .map_err(local)?
            }
        })
    }
}

/// The saved token, when the cache is sure to hand it out at `now` without a refresh, so no
/// key need be loaded: it is this run's channel and type, was issued in the past, and has
/// more than the skew margin and the advisory lead left. (The cache's own window opens no
/// earlier: its margins are at most these, and its jitter only moves the window later.)
fn fresh_token(
    state: &CacheState,
    inputs: &Inputs,
    config: &CacheConfig,
    now: UnixTime,
) -> Option<String> {
    if state.channel_id != inputs.channel_id || state.kind != inputs.kind {
        return None;
    }
    let t = state.token.as_ref()?;
    let fresh_until = t.expires_at - config.clock_skew() - config.refresh_before();
    (t.issued_at <= now && now < fresh_until).then(|| t.access_token.expose_secret().to_owned())
}

/// The kinds `--type` can issue, by the names the crate gives them (`TokenKind::as_str`).
const TYPES: [TokenKind; 3] = [TokenKind::Stateless, TokenKind::V21, TokenKind::ShortLived];

fn types_hint() -> String {
    format!("--type is {}, {} or {}", TYPES[0], TYPES[1], TYPES[2])
}

/// `--type`, stateless when not given: any of LINE's kinds by name, so long-lived can be
/// refused with a reason.
fn token_kind(given: Option<&str>) -> Result<TokenKind, Failure> {
    let Some(given) = given else {
        return Ok(TokenKind::Stateless);
    };
    TYPES
        .into_iter()
        .chain([TokenKind::LongLived])
        .find(|k| k.as_str() == given)
        .ok_or_else(|| usage(format!("{}, not {}", types_hint(), scrub::shown(given))))
}

fn config(opts: &Options, lifetime: Duration) -> Result<CacheConfig, Failure> {
    let mut config = CacheConfig::builder(lifetime);
    if let Some(before) = opts.seconds("refresh-before")? {
        if before >= lifetime {
            return Err(usage(format!(
                "--refresh-before {}s is not shorter than the token's lifetime ({}s)",
                before.as_secs(),
                lifetime.as_secs()
            )));
        }
        config = config.refresh_before(before).mandatory_before(before / 5);
    }
    config
        .build()
        .map_err(|e| usage(format!("--refresh-before: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_the_crates_token_kinds() {
        assert!(matches!(token_kind(None), Ok(TokenKind::Stateless)));
        for kind in TYPES {
            assert!(matches!(token_kind(Some(kind.as_str())), Ok(k) if k == kind));
        }
        match token_kind(Some("v2")) {
            Err(Failure::Usage(m)) => {
                assert_eq!(m, r#"--type is stateless, v2.1 or short-lived, not "v2""#)
            }
            _ => panic!("v2 accepted"),
        }
    }
}
