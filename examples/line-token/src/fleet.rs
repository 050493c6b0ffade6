//! `token --store redis://HOST:PORT/DB`: one token for a whole fleet, through Redis.
//!
//! The same command as `token --cache FILE`, with the same output and exit codes, but the
//! state lives in one Redis hash per channel and token kind (`--store-prefix`, default
//! `line-token`), shared by every process on every machine under the library's store
//! protocol: a bounded lease (`--store-lease`, default 30 s) fenced by the record's version,
//! and for counted kinds a budget of tokens out (`--store-budget`, default 20), run by
//! `store::drive` on Redis's clock. `rediss://` (with `--store-ca FILE` or the system's CAs),
//! Unix sockets and ACL users connect through the adapter (`support::redis_store`).
//! Nothing secret but the access token itself goes to Redis.

use std::time::Duration;

use line_channel_token::store::{
    Body, CredentialId, Failure as Shared, Read, StoreConfig, StoreConfigError, WaitReason,
};
use line_channel_token::{
    call, AssertionBuilder, CallError, ChannelSecret, Endpoint, Error, IssueShortLived,
    IssueStateless, IssueV21, IssuedToken, KeyIdsV21, OsRng, SigningKey, TokenKind, MAX_TOKEN_EXP,
};

use crate::commands::Output;
use crate::failure::{self, local, usage, Failure};
use crate::net::Net;
use crate::options::Options;
use crate::{scrub, secrets, time_text};
use support::redis_store::{self, clock, FetchError, RedisStore, StoreError};

/// How a token is issued: what `--type` and the credentials given select.
enum Issuer {
    StatelessSecret(String, ChannelSecret),
    StatelessAssertion(String, String, SigningKey),
    ShortLived(String, ChannelSecret),
    V21(String, String, SigningKey, Duration),
}

/// A wait for another process's refresh, or a short backoff, is sat out up to the lease plus
/// this; anything longer is exit 3 with the time to come back.
const EXTRA_WAIT: Duration = Duration::from_secs(5);

pub fn run(net: &Net, opts: &Options) -> Result<Output, Failure> {
    if opts.given("cache") {
        return Err(usage("give --cache FILE or --store URL, not both"));
    }
    if opts.given("lock-timeout") || opts.given("force-refresh") {
        return Err(usage(
            "--lock-timeout and --force-refresh apply to --cache only",
        ));
    }
    let url = opts.require("store")?;
    register_url_secrets(&url);
    let ca = match opts.get("store-ca") {
        Some(path) => Some(
            std::fs::read(&path)
                .map_err(|e| local(format!("--store-ca {}: {e}", scrub::shown(&path))))?,
        ),
        None => None,
    };
    let (issuer, kind, lifetime) = issuer(opts)?;
    let config =
        config(opts, channel_id(&issuer), kind, lifetime)?.with_credential(credential(&issuer));
    let prefix = opts
        .get("store-prefix")
        .unwrap_or_else(|| "line-token".into());
    if prefix.is_empty() || prefix.contains(char::is_whitespace) {
        return Err(usage(
            "--store-prefix takes a non-empty word without spaces",
        ));
    }
    let key = redis_store::key(&prefix, channel_id(&issuer), kind);
    let mut store = RedisStore::connect_with(&url, key.clone(), ca).map_err(|e| match e {
        StoreError::Url(m) => usage(m),
        StoreError::Unreachable(m) => Failure::Retry(m),
        StoreError::Refused(m) => local(m),
    })?;
    // Each token the record holds is a secret from the moment it is read: a later error of
    // the store may quote a write that carries it.
    store.on_read(register_record_token);
    let me = redis_store::new_owner();
    if let Some(rejected) = crate::secrets::rejected_token(opts)? {
        match redis_store::invalidate(&mut store, &config, me, &rejected) {
            Ok(_) => {}
            Err(e) if redis_store::is_unreachable(&e) => {
                return Err(Failure::Retry(format!(
                    "lost the store {}: {e}",
                    redis_store::shown_url(&url)
                )))
            }
            Err(e) => {
                return Err(local(format!(
                    "the store {} refused: {e}",
                    redis_store::shown_url(&url)
                )))
            }
        }
    }
    // v2.1 on a new or wiped record first waits out a lease (see `WaitReason::Settling`).
    let settle = match kind {
        TokenKind::V21 => config.lease() + config.clock_skew() * 2,
        _ => Duration::ZERO,
    };
    let max_wait = config.lease() + settle + EXTRA_WAIT;
    let mut line = redis_store::Line(
        // A new token is a secret before the write that records it.
        |timeout| {
            issue(net, &issuer, timeout)
                .inspect(|token| scrub::register(token.access_token.expose_secret()))
        },
        |timeout| key_ids(net, &issuer, timeout),
    );
    let result = redis_store::fetch(&mut store, &config, me, max_wait, &mut line);
    let fetched = match result {
        Ok(fetched) => fetched,
        Err(FetchError::Store(e)) if redis_store::is_unreachable(&e) => {
            return Err(Failure::Retry(format!(
                "lost the store {}: {e}",
                redis_store::shown_url(&url)
            )))
        }
        Err(FetchError::Store(e)) => {
            return Err(local(format!(
                "the store {} refused: {e}",
                redis_store::shown_url(&url)
            )))
        }
        Err(FetchError::Issue(failure)) => return Err(failure),
        Err(FetchError::Refused(e)) => return Err(local(format!("--store: {e}"))),
        Err(FetchError::Ended(outcome)) if outcome.is_retryable() => {
            return Err(Failure::Retry(outcome.to_string()))
        }
        Err(FetchError::Ended(outcome)) => return Err(local(format!("--store: {outcome}"))),
        Err(FetchError::Other(e)) => return Err(local(format!("--store: {e}"))),
        Err(FetchError::Wait(wait)) => {
            // Counted from the store's time, as the decision was: this machine's clock may be off.
            let at = time_text::at(wait.until, store.now().unwrap_or_else(clock));
            return Err(match wait.reason {
                WaitReason::Backoff(f) if !f.retryable => Failure::Refused(format!(
                    "LINE refused the fleet's last refresh{}; the fleet tries again {at}",
                    f.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
                )),
                WaitReason::Backoff(_) => Failure::Retry(format!(
                    "the fleet backs off after failed refreshes until {at}"
                )),
                WaitReason::Budget {
                    active,
                    uncertain: 0,
                    ..
                } => Failure::Retry(format!(
                    "the fleet has {active} tokens out, its whole budget; the oldest expires {at}"
                )),
                WaitReason::Budget {
                    active, uncertain, ..
                } => Failure::Retry(format!(
                    "the fleet has {active} tokens out, its whole budget; {uncertain} of them are from calls that failed and may have issued (5xx, timeouts, a process that stopped); if LINE did not issue them, delete the key {key} to reset the count; otherwise the oldest expires {at}"
                )),
                WaitReason::Throttled => Failure::Retry(format!(
                    "the fleet issued a token moments ago; it may issue again {at}"
                )),
                WaitReason::Refreshing { lease_ends, .. } => Failure::Retry(format!(
                    "another process is still refreshing; its lease ends {}",
                    time_text::at(lease_ends, store.now().unwrap_or_else(clock))
                )),
                _ => Failure::Retry(format!("no token yet; try again {at}")),
            });
        }
    };
    if let Some(off) = fetched.events.clock_off_ms {
        eprintln!(
            "line-token: warning: this machine's clock and the store's differ by {} s (this machine {}); the fleet's decisions used the store's time, so check both clocks",
            off.unsigned_abs() / 1000,
            if off > 0 { "ahead" } else { "behind" }
        );
    }
    if !fetched.committed {
        eprintln!(
            "line-token: warning: the store failed before it recorded the token this run issued; the token is valid, the fleet will issue again"
        );
    }
    let token = fetched.token;
    let text = token.access_token.expose_secret().to_owned();
    scrub::register(&text);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(local(
            "the store holds a token with characters no token has (not shown)",
        ));
    }
    Ok(text.into())
}

/// A password in the store URL is a secret: never shown. Registered for scrubbing as written
/// and percent-decoded (as the Redis client sends it): the user info (`USER:PASSWORD`), the
/// password (all after the first ':', itself free to hold ':'), and a Unix socket URL's
/// `?pass=`.
fn register_url_secrets(url: &str) {
    let register = |raw: &str| {
        scrub::register_password(raw);
        scrub::register_password(&percent_decoded(raw));
    };
    let user_info = url
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .map(|(user_info, _)| user_info);
    if let Some((user_info, password)) = user_info.and_then(|u| Some((u, u.split_once(':')?.1))) {
        register(user_info);
        register(password);
    }
    if let Some((_, query)) = url.split_once('?') {
        for (name, value) in query.split('&').filter_map(|p| p.split_once('=')) {
            if name == "pass" {
                register(value);
            }
        }
    }
}

/// Registers for scrubbing every access token a record just read names, before any check: the
/// library may keep (and write back) a token this process would judge otherwise, say at a
/// store time it floors to the record's own, and a store that echoes the write must not show it.
fn register_record_token(read: &Read) {
    fn walk(value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        serde_json::Value::String(token) if key == "access_token" => {
                            scrub::register(token)
                        }
                        other => walk(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(walk),
            _ => {}
        }
    }
    if let Body::Present(bytes) = &read.body {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
            walk(&value);
        }
    }
}

/// `%XX` escapes decoded (others left as they are), as a URL's user info is decoded.
fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn channel_id(issuer: &Issuer) -> &str {
    match issuer {
        Issuer::StatelessSecret(id, _)
        | Issuer::StatelessAssertion(id, ..)
        | Issuer::ShortLived(id, _)
        | Issuer::V21(id, ..) => id,
    }
}

/// Which credential this process refreshes with, for the fleet's refusal scope: a hash of the
/// secret, or of the key id and the key's public thumbprint (RFC 7638), so a refusal pauses
/// only the processes holding that exact key under that `kid`, not one with the right key.
fn credential(issuer: &Issuer) -> CredentialId {
    match issuer {
        Issuer::StatelessSecret(id, secret) | Issuer::ShortLived(id, secret) => {
            CredentialId::of(format!("{id}:{}", secret.expose_secret()).as_bytes())
        }
        Issuer::StatelessAssertion(id, kid, key) | Issuer::V21(id, kid, key, _) => {
            let thumbprint = key.public_jwk().thumbprint();
            CredentialId::of(format!("{id}:kid:{kid}:{thumbprint}").as_bytes())
        }
    }
}

/// Sends one issuance within `timeout`; a failure is sorted for the fleet (with LINE's HTTP
/// status, and whether LINE may have issued) and for this run (its exit code).
fn issue(net: &Net, issuer: &Issuer, timeout: Duration) -> Result<IssuedToken, (Shared, Failure)> {
    match issuer {
        Issuer::StatelessSecret(id, secret) => {
            send(net, &IssueStateless::by_secret(id, secret), timeout)
        }
        Issuer::ShortLived(id, secret) => send(net, &IssueShortLived::new(id, secret), timeout),
        Issuer::StatelessAssertion(id, kid, key) => {
            let assertion = sign(id, kid, key, None).map_err(|f| (Shared::not_sent(), f))?;
            send(net, &IssueStateless::by_assertion(&assertion), timeout)
        }
        Issuer::V21(id, kid, key, exp) => {
            let assertion = sign(id, kid, key, Some(*exp)).map_err(|f| (Shared::not_sent(), f))?;
            send(net, &IssueV21::new(&assertion), timeout)
        }
    }
}

/// v2.1: LINE's valid key ids, so the fleet counts what LINE counts.
fn key_ids(
    net: &Net,
    issuer: &Issuer,
    timeout: Duration,
) -> Result<Vec<String>, (Shared, Failure)> {
    let Issuer::V21(id, kid, key, _) = issuer else {
        return Ok(Vec::new());
    };
    let assertion = sign(id, kid, key, None).map_err(|f| (Shared::not_sent(), f))?;
    let listing = send(net, &KeyIdsV21::new(&assertion), timeout)?;
    // Nothing was issued by a listing: a failure never keeps a tentative entry.
    Ok(listing.kids)
}

fn send<E: Endpoint>(
    net: &Net,
    endpoint: &E,
    timeout: Duration,
) -> Result<E::Output, (Shared, Failure)> {
    call(&net.api, endpoint, |req| {
        net.send_within(req, Some(timeout))
    })
    .map_err(|e| {
        let shared = match &e {
            // A 4xx is LINE's own answer (nothing issued); a 5xx may be a gateway's after
            // LINE issued, and `answered` counts it as maybe issued.
            CallError::Protocol(Error::Api(api)) => Shared::answered(api.status().as_u16()),
            // No answer, or not LINE's: LINE may have issued.
            _ => Shared::unanswered(),
        };
        (shared, failure::from_call(&net.api, e))
    })
}

fn sign(
    id: &str,
    kid: &str,
    key: &SigningKey,
    token_exp: Option<Duration>,
) -> Result<line_channel_token::ClientAssertion, Failure> {
    let mut builder = AssertionBuilder::new(id, kid);
    if let Some(exp) = token_exp {
        builder = builder.token_exp(exp);
    }
    let assertion = builder.sign(key, clock(), &mut OsRng).map_err(local)?;
    scrub::register(assertion.expose_secret());
    Ok(assertion)
}

fn issuer(opts: &Options) -> Result<(Issuer, TokenKind, Duration), Failure> {
    let id = opts.require("channel-id")?;
    let kind = opts.get("type").unwrap_or_else(|| "stateless".into());
    Ok(match kind.as_str() {
        "stateless" => {
            let lifetime = TokenKind::Stateless.fixed_lifetime().unwrap_or_default();
            let issuer = match secrets::stateless(opts)? {
                secrets::Stateless::Secret(secret) => Issuer::StatelessSecret(id, secret),
                secrets::Stateless::Key(kid, key) => Issuer::StatelessAssertion(id, kid, key),
            };
            (issuer, TokenKind::Stateless, lifetime)
        }
        "short-lived" => (
            Issuer::ShortLived(id, secrets::require_channel_secret(opts)?),
            TokenKind::ShortLived,
            TokenKind::ShortLived.fixed_lifetime().unwrap_or_default(),
        ),
        "v2.1" => {
            let exp = opts.seconds("token-exp")?.unwrap_or(MAX_TOKEN_EXP);
            // Check token_exp now, before Redis is touched.
            AssertionBuilder::new(&id, "kid")
                .token_exp(exp)
                .claims(line_channel_token::UnixTime::EPOCH)
                .map_err(local)?;
            let (kid, key) = secrets::signing_key(opts)?;
            (Issuer::V21(id, kid, key, exp), TokenKind::V21, exp)
        }
        other => {
            return Err(usage(format!(
                "--type is stateless, v2.1 or short-lived, not {}",
                scrub::shown(other)
            )))
        }
    })
}

/// Every decision uses Redis's `TIME`, so the only skew is a read's age: one second.
const STORE_CLOCK_SKEW: Duration = Duration::from_secs(1);

fn config(
    opts: &Options,
    channel_id: &str,
    kind: TokenKind,
    lifetime: Duration,
) -> Result<StoreConfig, Failure> {
    let mut config = StoreConfig::new(channel_id, kind, lifetime).map_err(|e| match e {
        StoreConfigError::Channel => usage(format!("--channel-id: {e}")),
        e => usage(e.to_string()),
    })?;
    config = config
        .with_margins(
            config.min_remaining(),
            STORE_CLOCK_SKEW.min(config.clock_skew()),
        )
        .map_err(|e| usage(e.to_string()))?;
    if let Some(lease) = opts.seconds("store-lease")? {
        // A holder calls LINE only until twice the skew before its lease ends.
        let skew = config.clock_skew();
        if !lease.is_zero() && lease <= skew * 2 {
            return Err(usage(format!(
                "--store-lease: a lease must be longer than twice the clock skew the fleet allows for ({} s), which it keeps free at its end: give {} s or more",
                skew.as_secs_f64(),
                (skew * 2).as_secs() + 1
            )));
        }
        config = config
            .with_lease(lease)
            .map_err(|e| usage(format!("--store-lease: {e}")))?;
    }
    if let Some(budget) = opts.get("store-budget") {
        let n: usize = budget
            .parse()
            .map_err(|_| usage("--store-budget takes a whole number from 1 to 30"))?;
        if !kind.is_counted() {
            return Err(usage(
                "--store-budget applies to short-lived and v2.1 tokens, which LINE counts",
            ));
        }
        config = config
            .with_budget(n)
            .map_err(|e| usage(format!("--store-budget: {e}")))?;
    }
    if let Some(before) = opts.seconds("refresh-before")? {
        config = config
            .with_refresh_before(before)
            .map_err(|e| usage(format!("--refresh-before: {e}")))?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::percent_decoded;
    use proptest::prelude::*;

    #[test]
    fn percent_escapes_are_decoded_and_anything_else_is_kept() {
        assert_eq!(percent_decoded("a%3Ab%3a%41"), "a:b:A");
        assert_eq!(percent_decoded("100%"), "100%");
        assert_eq!(percent_decoded("%zz%4"), "%zz%4");
        assert_eq!(percent_decoded("%E3%81%82"), "\u{3042}");
    }

    proptest! {
        #[test]
        fn any_text_decodes_without_a_panic(text in ".*") {
            let _ = percent_decoded(&text);
        }
    }
}
