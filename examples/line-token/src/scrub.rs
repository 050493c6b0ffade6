//! Secrets never leave: every secret the CLI learns (the channel secret, key material, tokens,
//! assertions) is registered here, and every text from outside (server bodies) or bound for
//! outside (stderr, the cache file's `last_failure`) passes through [`text`] or [`bytes`]:
//! each secret is found as text, in the escapes a server adds, in pieces, and (through the
//! library's `KnownSecrets`) in base64, hex or URL-encoding and split into groups.
//!
//! Why one process-wide registry: the secrets come from many places (files, stdin, the
//! environment, and the request bodies the library builds, which hold the signed assertion),
//! and every way out must see all of them. A registry that every exit goes through is easier
//! to audit than a list passed by hand.

use std::sync::Mutex;

use line_channel_token::KnownSecrets;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not scrubbed (they would mangle every message); no LINE
/// secret, token or assertion is this short.
const MIN_SECRET: usize = 6;

/// A piece of a secret (its head cut off by someone's length limit, or the parts between
/// escapes a server added, like JSON's `\/`) is scrubbed when at least this much of it shows.
const MIN_PIECE: usize = 8;

/// Longest line written to stderr, in characters.
pub const MAX_LINE: usize = 2000;

static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Passwords shorter than [`MIN_SECRET`]: replaced only where they stand as a whole word (no
/// letter or digit on either side), so a short password is not shown when a server echoes
/// it, and messages are not mangled beyond the words that equal it.
static SHORT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The secrets as registered, for the library's [`KnownSecrets`]: it finds them in every
/// common encoding (base64, hex, URL-encoding) and split into groups (`0123 4567`, a hex
/// dump), which the spellings above do not cover.
static RAW: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers a secret, in every spelling it may come back in: as is, form-urlencoded (a
/// proxy echoing the request body), JSON-escaped and Rust-`Debug`-escaped (error excerpts).
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < MIN_SECRET {
        return;
    }
    {
        let mut raw = RAW.lock().unwrap_or_else(|p| p.into_inner());
        if !raw.iter().any(|r| r == secret) {
            raw.push(secret.to_owned());
        }
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

/// Remembers a password (the store URL's): as any secret if it is long enough, else as a
/// whole word to replace (see [`SHORT`]).
pub fn register_password(password: &str) {
    if password.chars().count() >= MIN_SECRET {
        return register(password);
    }
    let mut short = SHORT.lock().unwrap_or_else(|p| p.into_inner());
    if !password.is_empty() && !short.iter().any(|s| s == password) {
        short.push(password.to_owned());
        short.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }
}

/// Every occurrence of `word` in `text` with no letter or digit on either side, replaced.
fn replace_whole_words(text: &str, word: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(word) {
        let end = i + word.len();
        let before = text[..i].chars().next_back();
        let after = text[end..].chars().next();
        if i >= last
            && !before.is_some_and(char::is_alphanumeric)
            && !after.is_some_and(char::is_alphanumeric)
        {
            out.push_str(&text[last..i]);
            out.push_str(REDACTED);
            last = end;
        }
    }
    out.push_str(&text[last..]);
    out
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

/// Every registered secret, ready to be found in any encoding or split into groups.
fn encoded() -> KnownSecrets {
    let raw = RAW.lock().unwrap_or_else(|p| p.into_inner());
    KnownSecrets::new(raw.iter().map(|s| s.as_bytes()))
}

/// Replaces every known secret in a response body, before anything parses or excerpts it:
/// scrubbing after a length cap could miss a secret the cap cut in half.
pub fn bytes(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    for secret in known() {
        out = replace(&out, secret.as_bytes(), REDACTED.as_bytes());
    }
    // (A body that is not UTF-8 is no token answer: it is only ever shown, lossily.)
    encoded()
        .redact(&String::from_utf8_lossy(&out))
        .into_bytes()
}

/// Replaces every known secret in a text, and any piece of one (at least [`MIN_PIECE`]
/// characters): a head a length limit cut off, or the runs between escapes a server wrote
/// into it (`abc\/def`, `abc%2fdef`).
pub fn text(s: &str) -> String {
    let mut out = s.to_owned();
    let secrets = known();
    for secret in &secrets {
        let replaced = replace(out.as_bytes(), secret.as_bytes(), REDACTED.as_bytes());
        // A whole secret (valid UTF-8) was replaced by ASCII: still valid UTF-8.
        out = String::from_utf8_lossy(&replaced).into_owned();
    }
    out = replace_pieces(&encoded().redact(&out), &secrets);
    for short in SHORT.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        out = replace_whole_words(&out, short);
    }
    out
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
/// error message: a long unbroken run of token characters anywhere in it (`Bearer TOKEN` and
/// `"access_token": "TOKEN"` hold one too), a PEM block, a JSON object, or a URL with user
/// info or a `pass=` (a store URL's password).
pub fn looks_secret(arg: &str) -> bool {
    url_without_credentials(arg).is_some() || looks_secret_text(arg)
}

/// [`looks_secret`] but for URLs.
fn looks_secret_text(arg: &str) -> bool {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "+/=._-~%".contains(c);
    arg.contains("-----BEGIN")
        || arg.trim_start().starts_with('{')
        || arg.split(|c| !token_char(c)).any(|run| run.len() >= 20)
}

/// A URL (`SCHEME://...`) with its user info (`USER:PASSWORD@`) and any query replaced by
/// [`REDACTED`]; `None` for an argument that is not a URL or holds neither.
fn url_without_credentials(arg: &str) -> Option<String> {
    let (scheme, rest) = arg.split_once("://")?;
    let (user_info, rest) = match rest.rsplit_once('@') {
        Some((_, host)) => (format!("{REDACTED}@"), host),
        None => (String::new(), rest),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((path, _)) => (path, format!("?{REDACTED}")),
        None => (rest, String::new()),
    };
    (!user_info.is_empty() || !query.is_empty())
        .then(|| format!("{scheme}://{user_info}{rest}{query}"))
}

/// An argument for an error message: itself (escaped), a URL without its user info and
/// query, or a note that it is withheld.
pub fn shown(arg: &str) -> String {
    if let Some(url) = url_without_credentials(arg).filter(|url| !looks_secret_text(url)) {
        return format!("{:?}", line(&url));
    }
    if looks_secret(arg) {
        "(not shown: it looks like a secret)".to_owned()
    } else {
        format!("{:?}", line(arg))
    }
}

/// JSON for stdout with no character a terminal acts on: serde_json escapes only U+0000 to
/// U+001F, so DEL, the C1 controls (U+009B is CSI to some terminals) and bidirectional
/// overrides in server text are written as `\uXXXX` escapes. The JSON value is unchanged.
pub fn json_for_terminal(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        // Outside strings there is only ASCII punctuation, digits, spaces and pretty-printing
        // newlines, so any other unsafe character is inside a string, where `\u` is valid.
        if c != '\n' && is_unsafe(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a token may go to stdout raw: printable ASCII only, so no terminal escape may
/// ride on it.
pub fn printable(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
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

/// Replaces every run of the text, at least [`MIN_PIECE`] bytes long, whose every
/// [`MIN_PIECE`]-byte window occurs in a secret's long runs of token characters. Short runs
/// (`-----BEGIN`'s words, a JWK's `"kty"`) are left out: they are not secret, and messages
/// quote them.
fn replace_pieces(text: &str, secrets: &[String]) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "+/=._-~%".contains(c);
    let windows: std::collections::HashSet<&[u8]> = secrets
        .iter()
        .flat_map(|s| s.split(|c| !token_char(c)))
        .filter(|run| run.len() > MIN_PIECE)
        .flat_map(|run| run.as_bytes().windows(MIN_PIECE))
        .collect();
    let bytes = text.as_bytes();
    let known = |end: usize| end >= MIN_PIECE && windows.contains(&bytes[end - MIN_PIECE..end]);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + MIN_PIECE <= bytes.len() && known(i + MIN_PIECE) {
            let mut end = i + MIN_PIECE;
            while end < bytes.len() && known(end + 1) {
                end += 1;
            }
            // The windows are ASCII token characters, so `end` is a character boundary.
            out.push_str(REDACTED);
            i = end;
        } else {
            // `i` only ever moves by whole characters or over ASCII windows.
            let c = text[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(c);
            i += c.len_utf8();
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
        // A head cut off by someone's length limit (the library's `KnownSecrets` takes the
        // token run around it, field name and all).
        let cut = text("...client_secret=s3cr3t+wi");
        assert!(cut.ends_with(REDACTED) && !cut.contains("s3cr3t"), "{cut}");
        assert_eq!(
            bytes(b"x s3cr3t+with/odd=chars\"q y"),
            format!("x {REDACTED} y").into_bytes()
        );
    }

    #[test]
    fn a_secret_in_groups_or_a_hex_dump_is_replaced() {
        register("grp-s3cret-0123456789abcdef");
        let hex: String = "grp-s3cret-0123456789abcdef"
            .bytes()
            .map(|b| format!("{b:02x} "))
            .collect();
        for echo in ["grp- s3cr et-0 1234 5678 9abc def", hex.trim()] {
            let out = text(&format!("page: {echo} end"));
            assert_eq!(out, format!("page: {REDACTED} end"), "{echo}");
            let out = bytes(format!("page:\n{echo}\n").as_bytes());
            assert_eq!(out, format!("page:\n{REDACTED}\n").into_bytes(), "{echo}");
        }
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
    fn json_for_the_terminal_escapes_what_serde_json_leaves_raw() {
        let value = serde_json::json!({"a": "x\u{9b}31m\u{7f}\u{202e}y", "b": ["\u{85}"]});
        let raw = serde_json::to_string_pretty(&value).unwrap();
        let safe = json_for_terminal(&raw);
        assert!(!safe.chars().any(|c| c != '\n' && is_unsafe(c)), "{safe:?}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn token_like_arguments_are_withheld() {
        assert!(looks_secret("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"));
        assert!(looks_secret("-----BEGIN PRIVATE KEY-----"));
        assert!(looks_secret("{\"kty\":\"RSA\"}"));
        assert!(looks_secret(
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
        ));
        assert!(looks_secret("\"access_token\": \"0123456789abcdef0123\""));
        assert!(!looks_secret("not a command at all"));
        assert!(!looks_secret("frobnicate"));
        assert!(!looks_secret("--channel-id"));
    }

    #[test]
    fn a_short_password_is_replaced_where_it_stands_as_a_word() {
        register_password("k9#");
        assert_eq!(
            text("AUTH k9# failed (k9#, \"k9#\"); k9#x and xk9# are other words"),
            "AUTH [redacted] failed ([redacted], \"[redacted]\"); k9#x and xk9# are other words"
        );
    }

    #[test]
    fn a_url_is_shown_without_its_user_info_or_query() {
        assert_eq!(
            shown("redis://user:pw@h:6379/0"),
            "\"redis://[redacted]@h:6379/0\""
        );
        assert_eq!(
            shown("unix:///run/r.sock?db=1&pass=pw"),
            "\"unix:///run/r.sock?[redacted]\""
        );
        assert!(looks_secret("redis://:p@ss/w#rd@h:1/0"));
        assert_eq!(shown("redis://h:6379/0"), "\"redis://h:6379/0\"");
        assert!(!looks_secret("redis://h:6379/0"));
    }

    #[test]
    fn pieces_between_escapes_a_server_added_are_replaced() {
        let token = "pieceAAAAAAAAAA/pieceBBBBBBBBBB+pieceCCCCCCCC=";
        register(token);
        let echoed = r#"{"echo":"pieceAAAAAAAAAA\/pieceBBBBBBBBBB+pieceCCCCCCCC="}"#;
        let out = text(echoed);
        for piece in ["AAAAAAAA", "BBBBBBBB", "CCCCCCCC"] {
            assert!(!out.contains(piece), "{out}");
        }
        // Short words of key text are not pieces of a secret.
        register_key_text("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n");
        assert_eq!(
            text("give a PKCS#8 PEM (BEGIN PRIVATE KEY) or a JWK ({\"kty\":\"RSA\"})"),
            "give a PKCS#8 PEM (BEGIN PRIVATE KEY) or a JWK ({\"kty\":\"RSA\"})"
        );
        assert_eq!(text("é ünïcödé ñ"), "é ünïcödé ñ");
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
