//! Secrets never leave: every secret the CLI learns (the channel secret, key material, tokens,
//! assertions) is registered here, and every text from outside (server bodies) or bound for
//! outside (stderr, the cache file's `last_failure`) passes through [`text`] or [`bytes`].
//!
//! Why one process-wide registry: the secrets come from many places (files, stdin, the
//! environment, and the request bodies the library builds, which hold the signed assertion),
//! and every way out must see all of them. A registry that every exit goes through is easier
//! to audit than a list passed by hand.

use std::sync::Mutex;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not scrubbed (they would mangle every message); no LINE
/// secret, token or assertion is this short.
const MIN_SECRET: usize = 6;

/// A truncated secret (the head of one, cut off by someone's length limit) is scrubbed when
/// at least this much of it shows.
const MIN_HEAD: usize = 8;

/// Longest line written to stderr, in characters.
pub const MAX_LINE: usize = 2000;

static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers a secret, in every spelling it may come back in: as is, form-urlencoded (a
/// proxy echoing the request body), JSON-escaped and Rust-`Debug`-escaped (error excerpts).
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < MIN_SECRET {
        return;
    }
    let mut variants = vec![secret.to_owned()];
    if let Ok(form) = serde_urlencoded::to_string([("", secret)]) {
        variants.push(form.trim_start_matches('=').to_owned());
    }
    if let Ok(json) = serde_json::to_string(secret) {
        variants.push(json.trim_matches('"').to_owned());
    }
    variants.push(format!("{secret:?}").trim_matches('"').to_owned());
    let mut known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    for v in variants {
        if !known.contains(&v) {
            known.push(v);
        }
    }
    // Longest first, so a secret that contains another is replaced whole.
    known.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// Registers each long line of key material (PEM body lines, JWK members), so that even a
/// partial echo of a key is caught.
pub fn register_key_text(text: &str) {
    register(text);
    for line in text.lines().map(str::trim) {
        let base64 = line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
        if line.len() >= 16 && base64 {
            register(line);
        }
    }
    if let Ok(serde_json::Value::Object(members)) = serde_json::from_str(text) {
        for name in ["d", "p", "q", "dp", "dq", "qi"] {
            if let Some(serde_json::Value::String(v)) = members.get(name) {
                register(v);
            }
        }
    }
}

fn known() -> Vec<String> {
    KNOWN.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Replaces every known secret in a response body, before anything parses or excerpts it:
/// scrubbing after a length cap could miss a secret the cap cut in half.
pub fn bytes(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    for secret in known() {
        out = replace(&out, secret.as_bytes(), REDACTED.as_bytes());
    }
    out
}

/// Replaces every known secret in a text, and any head of one (at least [`MIN_HEAD`]
/// characters) that a length limit may have cut off.
pub fn text(s: &str) -> String {
    let mut out = s.as_bytes().to_vec();
    let secrets = known();
    for secret in &secrets {
        out = replace(&out, secret.as_bytes(), REDACTED.as_bytes());
    }
    for secret in &secrets {
        out = replace_heads(&out, secret.as_bytes());
    }
    // Only whole secrets (valid UTF-8) and ASCII were replaced, so this is lossless.
    String::from_utf8_lossy(&out).into_owned()
}

/// A text made safe for a terminal, on exactly one line: secrets scrubbed, control and
/// bidirectional-override characters escaped (`\n`, `\u{1b}`), at most [`MAX_LINE`] characters.
pub fn line(s: &str) -> String {
    let scrubbed = text(s);
    let mut out = String::with_capacity(scrubbed.len());
    for (count, c) in scrubbed.chars().enumerate() {
        if count >= MAX_LINE {
            out.push_str("... (truncated)");
            break;
        }
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether an argument looks like a token, a key or a secret, and so must not be echoed in an
/// error message: a long unbroken run of token characters, a PEM block or a JSON object.
pub fn looks_secret(arg: &str) -> bool {
    let token_chars = arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/=._-~%".contains(c));
    arg.contains("-----BEGIN")
        || arg.trim_start().starts_with('{')
        || (arg.len() >= 20 && token_chars)
}

/// An argument for an error message: itself (escaped), or a note that it is withheld.
pub fn shown(arg: &str) -> String {
    if looks_secret(arg) {
        "(not shown: it looks like a secret)".to_owned()
    } else {
        format!("{:?}", line(arg))
    }
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// Replaces a head of `secret` (at least [`MIN_HEAD`] bytes, ending where the text stops
/// matching) by the marker.
fn replace_heads(haystack: &[u8], secret: &[u8]) -> Vec<u8> {
    if secret.len() <= MIN_HEAD {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        let common = haystack[i..]
            .iter()
            .zip(secret)
            .take_while(|(a, b)| a == b)
            .count();
        // Only cut at a character boundary of the secret (valid UTF-8 either side).
        if common >= MIN_HEAD && std::str::from_utf8(&secret[..common]).is_ok() {
            out.extend_from_slice(REDACTED.as_bytes());
            i += common;
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_spelling_of_a_secret_is_replaced() {
        register("s3cr3t+with/odd=chars\"q");
        let echoed = "a=s3cr3t+with/odd=chars\"q b=s3cr3t%2Bwith%2Fodd%3Dchars%22q \
                      c=s3cr3t+with/odd=chars\\\"q";
        let out = text(echoed);
        assert_eq!(out.matches(REDACTED).count(), 3, "{out}");
        assert!(!out.contains("s3cr3t"), "{out}");
        // A head cut off by someone's length limit.
        assert_eq!(
            text("...client_secret=s3cr3t+wi"),
            format!("...client_secret={REDACTED}")
        );
        assert_eq!(
            bytes(b"x s3cr3t+with/odd=chars\"q y"),
            format!("x {REDACTED} y").into_bytes()
        );
    }

    #[test]
    fn lines_are_terminal_safe_and_capped() {
        assert_eq!(
            line("a\u{1b}[31mb\r\nc\u{202e}"),
            "a\\u{1b}[31mb\\r\\nc\\u{202e}"
        );
        let long = line(&"x".repeat(10_000));
        assert!(long.len() < MAX_LINE + 20 && long.ends_with("(truncated)"));
    }

    #[test]
    fn token_like_arguments_are_withheld() {
        assert!(looks_secret("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"));
        assert!(looks_secret("-----BEGIN PRIVATE KEY-----"));
        assert!(looks_secret("{\"kty\":\"RSA\"}"));
        assert!(!looks_secret("frobnicate"));
        assert!(!looks_secret("--channel-id"));
    }

    proptest! {
        #[test]
        fn a_registered_secret_never_survives(
            secret in "[A-Za-z0-9+/=._-]{6,40}",
            before in "\\PC{0,30}",
            after in "\\PC{0,30}",
        ) {
            register(&secret);
            let out = line(&format!("{before}{secret}{after}"));
            prop_assert!(!out.contains(&secret));
        }
    }
}
