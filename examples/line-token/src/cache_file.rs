//! The `token` command's file backend: where the cache state lives between runs.
//!
//! The seam is [`Store`]: `token` takes the lock by opening a store, then loads and saves
//! through it. Another backend (Redis) sits beside this one by implementing the same trait.
//!
//! The file (format v2) is self-describing: times are RFC 3339 in UTC, and it holds no
//! secret but the access token, and no server text that still has a secret in it. After a
//! refusal it names the refused credential by a one-way fingerprint
//! (`secrets::fingerprint`). Format v1
//! files (the crate's `CacheState` with Unix-millisecond times) are read and rewritten as v2.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use line_channel_token::cache::{CacheState, CachedToken, FailureKind, RefreshFailure};
use line_channel_token::TokenKind;
use line_channel_token::{AccessToken, UnixTime};

use crate::failure::{local, Failure};
use crate::{files, scrub, time_text};

/// What `token` needs from a place that keeps cache state for many processes.
pub trait Store {
    /// The saved state. `Ok(None)` when there is none, or when it is unreadable and will be
    /// replaced (with a warning in `warnings`).
    fn load(&mut self, warnings: &mut Vec<String>) -> Result<Loaded, Failure>;
    /// Replaces the saved state. `refused_credential` names the credential LINE refused
    /// (`secrets::fingerprint`), saved with a refusal so that later runs can tell whether they
    /// bring the same one.
    fn save(&mut self, state: &CacheState, refused_credential: Option<&str>)
        -> Result<(), Failure>;
}

/// A loaded state, and whether it was in an older format (and so should be rewritten).
pub struct Loaded {
    pub state: Option<CacheState>,
    pub outdated: bool,
    /// The fingerprint of the credential behind the saved refusal, if any.
    pub refused_credential: Option<String>,
}

/// The cache file, locked for as long as this value lives.
pub struct FileStore {
    path: PathBuf,
    uid: u32,
    _lock: File,
}

impl FileStore {
    /// Checks the directories (creating missing ones 0700), takes the lock (waiting at most
    /// `lock_timeout`), and sweeps temporary files a killed run left behind.
    pub fn open(path: &Path, lock_timeout: Duration) -> Result<FileStore, Failure> {
        let uid = files::current_uid()?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        // Check before creating anything in a directory others may control, and after.
        files::check_dirs(files::nearest_existing(dir), uid)?;
        files::create_private_dirs(dir)?;
        files::check_dirs(dir, uid)?;
        files::check_existing(path, uid)?;
        let lock = files::lock(path, uid, lock_timeout)?;
        files::sweep_temps(path, uid);
        Ok(FileStore {
            path: path.to_owned(),
            uid,
            _lock: lock,
        })
    }
}

impl Store for FileStore {
    fn load(&mut self, warnings: &mut Vec<String>) -> Result<Loaded, Failure> {
        let Some(contents) = files::read_private(&self.path, self.uid)? else {
            return Ok(Loaded {
                state: None,
                outdated: false,
                refused_credential: None,
            });
        };
        if let Some(mode) = contents.narrowed_from {
            warnings.push(format!(
                "{} was readable by group or others (mode {mode:04o}), and so was its token; \
                 narrowed to 0600",
                self.path.display()
            ));
        }
        let bytes = contents.bytes;
        // The file holds a token: wherever it is, even in a field of the wrong type that
        // serde would quote in the warning below, it is known before any message is made.
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            register_tokens(&value);
        }
        match decode(&bytes) {
            Ok(loaded) => Ok(loaded),
            // Saves are atomic renames, so a cache is never half written: a file that is not
            // one is someone's data at a mistyped path (`--cache ~/.config/line/secret`).
            Err(_) if !is_cache(&bytes) => Err(local(format!(
                "{} is not a line-token cache, and is left as it is: give --cache a path of \
                 its own",
                self.path.display()
            ))),
            Err(why) => {
                warnings.push(format!(
                    "{} is not a usable line-token cache ({why}); replacing it",
                    self.path.display()
                ));
                Ok(Loaded {
                    state: None,
                    outdated: false,
                    refused_credential: None,
                })
            }
        }
    }

    fn save(
        &mut self,
        state: &CacheState,
        refused_credential: Option<&str>,
    ) -> Result<(), Failure> {
        let mut file = encode(state);
        file.refused_credential = refused_credential.map(str::to_owned);
        let mut json = serde_json::to_vec_pretty(&file).map_err(local)?;
        json.push(b'\n');
        files::write_private_atomic(&self.path, &json)
    }
}

/// Whether a file that did not load was written by line-token (or is empty), and so may be
/// replaced: a JSON object whose `format` names a line-token cache.
fn is_cache(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<Probe>(bytes)
            .is_ok_and(|p| p.format.starts_with("line-channel-token/cache/"))
}

/// Registers every string in a saved file that looks like a token, for scrubbing, except
/// the members known to hold none (the format, IDs, times, and `last_failure`, which was
/// scrubbed when saved): registering those would blank them out of every message.
fn register_tokens(value: &serde_json::Value) {
    const NO_SECRET: &[&str] = &[
        "format",
        "channel_id",
        "kind",
        "token_type",
        "key_id",
        "issued_at",
        "expires_at",
        "retry_at",
        "last_failure",
        "refused_credential",
    ];
    match value {
        serde_json::Value::String(s) if scrub::looks_secret(s) => scrub::register(s),
        serde_json::Value::Array(items) => items.iter().for_each(register_tokens),
        serde_json::Value::Object(members) => members
            .iter()
            .filter(|(name, _)| !NO_SECRET.contains(&name.as_str()))
            .for_each(|(_, v)| register_tokens(v)),
        _ => {}
    }
}

const FORMAT_V1: &str = "line-channel-token/cache/v1";
const FORMAT_V2: &str = "line-channel-token/cache/v2";

#[derive(serde::Deserialize)]
struct Probe {
    format: String,
}

#[derive(serde::Deserialize)]
struct FileV1 {
    state: CacheState,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FileV2 {
    format: String,
    channel_id: String,
    /// Written as `kind`; files written as `token_type` (before 0.1.0) still load.
    #[serde(alias = "token_type")]
    kind: TokenKind,
    #[serde(default)]
    token: Option<TokenV2>,
    #[serde(default)]
    failures: u32,
    #[serde(default)]
    retry_at: Option<Stamp>,
    #[serde(default)]
    last_failure: Option<FailureV2>,
    /// When the last refresh was sent: the issuance throttle counts from it.
    #[serde(default)]
    last_refresh_at: Option<Stamp>,
    /// With a refusal: a fingerprint of the credential LINE refused (never the credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refused_credential: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TokenV2 {
    access_token: AccessToken,
    issued_at: Stamp,
    expires_at: Stamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FailureV2 {
    message: String,
    #[serde(default)]
    status: Option<u16>,
    retryable: bool,
}

impl FailureV2 {
    fn kind(&self) -> FailureKind {
        match self.status {
            Some(status) if (200..300).contains(&status) => FailureKind::InvalidResponse { status },
            Some(status) => FailureKind::Refused {
                status,
                error: None,
            },
            None => FailureKind::Transport,
        }
    }
}

/// A time as RFC 3339 text in the file.
struct Stamp(UnixTime);

impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time_text::rfc3339_millis(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stamp, D::Error> {
        let text = String::deserialize(d)?;
        time_text::parse(&text).map(Stamp).ok_or_else(|| {
            serde::de::Error::custom("a time must be RFC 3339 UTC, like 2026-11-24T10:40:00.000Z")
        })
    }
}

fn decode(bytes: &[u8]) -> Result<Loaded, String> {
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let (state, outdated, refused_credential) = match probe.format.as_str() {
        FORMAT_V2 => {
            let mut f: FileV2 = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            let refused = f.refused_credential.take();
            (from_v2(f), false, refused)
        }
        FORMAT_V1 => {
            let f: FileV1 = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            (f.state, true, None)
        }
        _ => return Err("an unknown format".to_owned()),
    };
    // The token is printed as is: refuse one no LINE token looks like (a terminal escape).
    if let Some(t) = &state.token {
        let raw = t.access_token.expose_secret();
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("its access_token is not printable ASCII".to_owned());
        }
    }
    Ok(Loaded {
        state: Some(state),
        outdated,
        refused_credential,
    })
}

fn from_v2(f: FileV2) -> CacheState {
    CacheState {
        channel_id: f.channel_id,
        kind: f.kind,
        token: f.token.map(|t| CachedToken {
            access_token: t.access_token,
            issued_at: t.issued_at.0,
            expires_at: t.expires_at.0,
            key_id: t.key_id,
        }),
        // A refresh in flight is only ever one whose process died holding the lock.
        in_flight_since: None,
        failures: f.failures,
        retry_at: f.retry_at.map(|s| s.0),
        last_failure: f.last_failure.map(|l| RefreshFailure {
            kind: l.kind(),
            message: l.message,
            retryable: l.retryable,
        }),
        last_refresh_at: f.last_refresh_at.map(|s| s.0),
    }
}

fn encode(state: &CacheState) -> FileV2 {
    FileV2 {
        format: FORMAT_V2.to_owned(),
        channel_id: state.channel_id.clone(),
        kind: state.kind,
        token: state.token.as_ref().map(|t| TokenV2 {
            access_token: t.access_token.clone(),
            issued_at: Stamp(t.issued_at),
            expires_at: Stamp(t.expires_at),
            key_id: t.key_id.clone(),
        }),
        failures: state.failures,
        retry_at: state.retry_at.map(Stamp),
        last_failure: state.last_failure.as_ref().map(|l| FailureV2 {
            // Server text, scrubbed and on one line before it is stored.
            message: scrub::line(&l.message),
            status: l.status(),
            retryable: l.retryable,
        }),
        last_refresh_at: state.last_refresh_at.map(Stamp),
        refused_credential: None,
    }
}
