//! Where secrets come from: files and stdin first, the environment next, argv last (argv is
//! visible to every user of the machine). Every secret read is registered for scrubbing.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use line_channel_token::{AccessToken, ChannelSecret, SigningKey};

use crate::failure::{local, usage, Failure};
use crate::files;
use crate::options::{describe, Options};
use crate::scrub;

/// A short, one-way name for a credential (the parts: channel, type, the secret or the key
/// and its ID), so a later run can tell whether it brings the one LINE refused. SHA-256 over
/// a label and the length-prefixed parts, cut to 12 bytes of hex: nothing of the credential
/// can be recovered from it (a channel secret is 128 random bits, a key far more).
pub fn fingerprint(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"line-token/refused-credential/v1");
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The ways to give the channel secret, best first.
pub const SECRET_SOURCES: &[&str] = &["channel-secret-file", "channel-secret"];
/// The ways to give an access token, best first.
pub const TOKEN_SOURCES: &[&str] = &["token-file", "token"];
/// How to give the key, for messages.
pub fn key_hint() -> String {
    format!(
        "--key FILE|-, $LINE_PRIVATE_KEY_FILE or $LINE_PRIVATE_KEY (the key itself), with {}",
        describe(&["kid"])
    )
}

/// How to give the channel secret, for messages.
pub fn secret_hint() -> String {
    describe(SECRET_SOURCES)
}

/// What issues a stateless token: the channel secret or a signing key (with its ID), the key
/// parsed ([`SigningKey`]) or only read ([`KeyText`]).
pub enum Stateless<K = SigningKey> {
    Secret(ChannelSecret),
    Key(String, K),
}

/// A signing key read but not parsed. Parsing proves the key sound with a test signature
/// (milliseconds), which a run that finds a good token in its cache never needs.
pub struct KeyText {
    text: String,
    origin: String,
}

impl KeyText {
    /// The key, checked.
    pub fn parse(&self) -> Result<SigningKey, Failure> {
        SigningKey::parse(&self.text).map_err(|e| local(format!("{}: {e}", self.origin)))
    }

    /// The key's text, for its fingerprint (never shown).
    pub fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }
}

/// The credential for a stateless token, which either can issue. The channel secret and a
/// signing key both on the command line are refused, as silently picking one would hide which
/// one LINE saw (and a mistake). The environment only fills in what the command line leaves
/// out, so it is not checked; `--type v2.1` and `short-lived` take one credential each, so a
/// wrapper may pass both and let `--type` choose.
pub fn stateless(opts: &Options) -> Result<Stateless, Failure> {
    stateless_by(opts, load_key)
}

/// [`stateless`], with the key read but not parsed.
pub fn stateless_unparsed(opts: &Options) -> Result<Stateless<KeyText>, Failure> {
    stateless_by(opts, read_key)
}

fn stateless_by<K>(
    opts: &Options,
    load: fn(&Options) -> Result<K, Failure>,
) -> Result<Stateless<K>, Failure> {
    let explicit_key = opts.given("kid") || opts.given("key");
    if explicit_key && SECRET_SOURCES.iter().any(|o| opts.given(o)) {
        return Err(usage(
            "a stateless token is issued with the channel secret (--channel-secret-file, \
             --channel-secret) or the signing key (--kid, --key): give one, not both",
        ));
    }
    let secret = if explicit_key {
        None
    } else {
        channel_secret(opts)?
    };
    match secret {
        Some(secret) => Ok(Stateless::Secret(secret)),
        None if explicit_key || key_given(opts) => {
            let (kid, key) = signing_key_by(opts, load)?;
            Ok(Stateless::Key(kid, key))
        }
        None => Err(usage(format!(
            "missing credentials for a stateless token: give the channel secret ({}) or a \
             signing key ({})",
            secret_hint(),
            key_hint()
        ))),
    }
}

/// The channel secret, if any source gives it.
pub fn channel_secret(opts: &Options) -> Result<Option<ChannelSecret>, Failure> {
    let from_file = |path: String| read_secret(&path, "--channel-secret-file").map(Some);
    let secret = match (
        opts.given("channel-secret-file"),
        opts.given("channel-secret"),
    ) {
        (true, true) => {
            return Err(usage(
                "give the channel secret once: --channel-secret-file or --channel-secret",
            ))
        }
        (true, false) => from_file(opts.require("channel-secret-file")?)?,
        (false, true) => opts.get("channel-secret"),
        (false, false) => match opts.get("channel-secret-file") {
            Some(path) => from_file(path)?,
            None => opts.get("channel-secret"),
        },
    };
    Ok(secret.map(|s| {
        scrub::register(&s);
        ChannelSecret::new(s)
    }))
}

/// The channel secret, or a message naming every way to give it.
pub fn require_channel_secret(opts: &Options) -> Result<ChannelSecret, Failure> {
    channel_secret(opts)?.ok_or_else(|| {
        usage(format!(
            "missing the channel secret: give {}",
            secret_hint()
        ))
    })
}

/// The access token to verify or revoke.
pub fn access_token(opts: &Options) -> Result<AccessToken, Failure> {
    let token = match (opts.given("token-file"), opts.given("token")) {
        (true, true) => return Err(usage("give the token once: --token-file or --token")),
        (true, false) => read_secret(&opts.require("token-file")?, "--token-file")?,
        _ => opts.get("token").ok_or_else(|| {
            usage(format!(
                "missing the access token: give {}",
                describe(TOKEN_SOURCES)
            ))
        })?,
    };
    scrub::register(&token);
    Ok(AccessToken::new(token))
}

/// `--rejected-token-file`: the token the Messaging API refused, if given.
pub fn rejected_token(opts: &Options) -> Result<Option<AccessToken>, Failure> {
    if !opts.given("rejected-token-file") {
        return Ok(None);
    }
    let path = opts.require("rejected-token-file")?;
    let token = read_secret(&path, "--rejected-token-file")?;
    scrub::register(&token);
    Ok(Some(AccessToken::new(token)))
}

/// Whether any key source is present (option or environment).
fn key_given(opts: &Options) -> bool {
    opts.get("key").is_some()
        || std::env::var("LINE_PRIVATE_KEY").is_ok_and(|k| !k.trim().is_empty())
}

/// The key ID and the loaded signing key.
pub fn signing_key(opts: &Options) -> Result<(String, SigningKey), Failure> {
    signing_key_by(opts, load_key)
}

/// [`signing_key`], with the key read but not parsed.
pub fn signing_key_unparsed(opts: &Options) -> Result<(String, KeyText), Failure> {
    signing_key_by(opts, read_key)
}

fn signing_key_by<K>(
    opts: &Options,
    load: fn(&Options) -> Result<K, Failure>,
) -> Result<(String, K), Failure> {
    let key = load(opts)?;
    let kid = opts.get("kid").ok_or_else(|| {
        usage(format!(
            "missing the key ID: give {} with the key",
            describe(&["kid"])
        ))
    })?;
    Ok((kid, key))
}

/// The signing key alone: `--key FILE|-`, `$LINE_PRIVATE_KEY_FILE` or `$LINE_PRIVATE_KEY`.
pub fn load_key(opts: &Options) -> Result<SigningKey, Failure> {
    read_key(opts)?.parse()
}

/// [`load_key`] without parsing: the text, registered for scrubbing.
pub fn read_key(opts: &Options) -> Result<KeyText, Failure> {
    let (text, origin) = match opts.get("key") {
        Some(path) if opts.given("key") && looks_like_key(&path) => {
            return Err(usage(
                "--key takes the path of a key file, and was given what looks like the key \
                 itself (not shown); put the key in a file, or in $LINE_PRIVATE_KEY",
            ))
        }
        Some(path) => (read_input(&path, "--key")?, shown_path(&path)),
        None => match std::env::var("LINE_PRIVATE_KEY") {
            Ok(text) if !text.trim().is_empty() => (text, "$LINE_PRIVATE_KEY".to_owned()),
            _ => {
                return Err(usage(format!(
                    "missing the signing key: give {}",
                    key_hint()
                )))
            }
        },
    };
    scrub::register_key_text(&text);
    Ok(KeyText { text, origin })
}

fn looks_like_key(value: &str) -> bool {
    value.contains("-----BEGIN") || value.trim_start().starts_with('{') || value.contains('\n')
}

/// A secret read from a file or stdin, trimmed; empty is an error.
fn read_secret(path: &str, option: &str) -> Result<String, Failure> {
    let text = read_input(path, option)?;
    let value = text.trim().to_owned();
    if value.is_empty() {
        return Err(local(format!("{} ({option}) is empty", shown_path(path))));
    }
    if value.lines().count() > 1 {
        return Err(local(format!(
            "{} ({option}) holds more than one line; it should hold the value alone",
            shown_path(path)
        )));
    }
    Ok(value)
}

static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// A file's text (or stdin's, for `-`), at most [`files::MAX_FILE`] bytes. Links are followed
/// (mounted secrets are links), and pipes are fine (`<(pass show line)`); a device or a huge
/// file is refused by the size bound.
fn read_input(path: &str, option: &str) -> Result<String, Failure> {
    let bytes = if path == "-" {
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(usage("only one option can read stdin (-)"));
        }
        files::read_bounded(std::io::stdin().lock(), &format!("stdin ({option})"))?
    } else {
        let what = format!("{} ({option})", shown_path(path));
        let file =
            std::fs::File::open(path).map_err(|e| local(format!("cannot read {what}: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| local(format!("cannot read {what}: {e}")))?;
        if meta.is_dir() {
            return Err(local(format!("{what} is a directory, not a file")));
        }
        if meta.is_file() && meta.len() > files::MAX_FILE {
            return Err(local(format!(
                "{what} is {} bytes, more than a secret or key can be ({} bytes)",
                meta.len(),
                files::MAX_FILE
            )));
        }
        files::read_bounded(file, &what)?
    };
    String::from_utf8(bytes).map_err(|_| local(format!("{option}: the input is not UTF-8 text")))
}

/// A path for a message: shown if it exists; a path that does not exist may have been the
/// secret itself, given where a path belongs, so it is withheld.
fn shown_path(path: &str) -> String {
    if path == "-" {
        "stdin".to_owned()
    } else if Path::new(path).exists() {
        scrub::line(path)
    } else {
        "the file named (not shown: it does not exist, and may be a secret)".to_owned()
    }
}
