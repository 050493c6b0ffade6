//! Secrets the caller knows, found in any common encoding. The heuristic in
//! [`redact`](super::redact) catches credential-like runs it has never seen; a secret that is
//! known (the channel secret or assertion a request carried, the token a cache holds) is found
//! however a server or proxy echoes it: as text, URL-encoded, in base64 or base64url with or
//! without padding (at any byte offset of a longer encoded text), in hex of either case, and
//! split into groups by spaces, dashes or newlines (`0123 4567 89ab`, a `xxd -p` dump).
//!
//! Every match is widened to the run of token characters around it (a form field's name, the
//! padding, the partial base64 characters at its ends) and replaced by `[redacted]`.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use zeroize::Zeroizing;

use super::redact::{is_token_char, REDACTED};

/// The shortest secret looked for: shorter ones are no LINE secret, and finding them would
/// mangle the text.
const MIN_SECRET: usize = 4;

/// The shortest encoded form looked for (a base64 core of a short secret can be shorter).
const MIN_PATTERN: usize = 6;

/// The form fields of LINE's requests that carry a secret.
pub(crate) const SECRET_FIELDS: [&str; 3] = ["client_secret", "client_assertion", "access_token"];

/// One encoded form of a secret.
struct Pattern {
    bytes: Zeroizing<Vec<u8>>,
    /// Hex digits and `%XX` escapes come in either case.
    fold_case: bool,
}

/// Secrets you know, ready to be found in text in any common encoding: as text, URL-encoded,
/// base64 and base64url with or without padding (also inside a longer encoded text), hex of
/// either case, and split into groups by spaces, dashes or newlines. The crate uses it on
/// what servers send back ([`call`](crate::call) and the cache do it for you); use it on your
/// own logs. Its copies of the secrets are wiped on drop, and `Debug` shows none of them.
///
/// ```
/// use line_channel_token::KnownSecrets;
///
/// let known = KnownSecrets::new([b"0123456789abcdef".as_slice()]);
/// let page = "<pre>echo: 0123 4567 89ab cdef / MDEyMzQ1Njc4OWFiY2RlZg==</pre>";
/// assert_eq!(known.redact(page), "<pre>echo: [redacted] / [redacted]</pre>");
/// ```
#[derive(Default)]
pub struct KnownSecrets {
    patterns: Vec<Pattern>,
}

impl std::fmt::Debug for KnownSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KnownSecrets(<{} patterns>)", self.patterns.len())
    }
}

/// Characters an echo may put between groups of a secret.
fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'\n' | b'\r' | b'\t')
}

impl KnownSecrets {
    /// Ready to find each of `secrets` (as their raw bytes; shorter than 4 bytes are
    /// ignored: they would match ordinary words).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a [u8]>) -> KnownSecrets {
        let mut known = KnownSecrets::default();
        for secret in secrets.into_iter().filter(|s| s.len() >= MIN_SECRET) {
            known.add(secret);
        }
        known
    }

    /// The secrets a request's form carries (its body, or its query for a GET).
    pub(crate) fn of_request(request: &http::Request<Vec<u8>>) -> KnownSecrets {
        let form = match request.uri().query() {
            Some(q) if request.body().is_empty() => q.as_bytes(),
            _ => request.body().as_slice(),
        };
        let fields: Vec<(String, Zeroizing<String>)> =
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(form)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, Zeroizing::new(v)))
                .collect();
        KnownSecrets::new(
            fields
                .iter()
                .filter(|(k, _)| SECRET_FIELDS.contains(&k.as_str()))
                .map(|(_, v)| v.as_bytes()),
        )
    }

    fn push(&mut self, bytes: Vec<u8>, fold_case: bool) {
        if bytes.len() >= MIN_PATTERN {
            self.patterns.push(Pattern {
                bytes: Zeroizing::new(bytes),
                fold_case,
            });
        }
    }

    fn add(&mut self, secret: &[u8]) {
        // As text, at any length from MIN_SECRET: it is the secret itself.
        self.patterns.push(Pattern {
            bytes: Zeroizing::new(secret.to_vec()),
            fold_case: false,
        });
        // URL-encoded as a form encodes it, and with every byte escaped.
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let (mut form, mut escaped, mut hex) = (Vec::new(), Vec::new(), Vec::new());
        for &b in secret {
            let digits = [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]];
            // As `serde_urlencoded` (and LINE's SDKs) encode a form.
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => form.push(b),
                b' ' => form.push(b'+'),
                _ => form.extend_from_slice(&[b'%', digits[0], digits[1]]),
            }
            escaped.extend_from_slice(&[b'%', digits[0], digits[1]]);
            hex.extend_from_slice(&digits);
        }
        self.push(form, true);
        self.push(escaped, true);
        // Hex, either case.
        self.push(hex, true);
        // Base64 and base64url at each of the three offsets a longer text may start it at:
        // only the characters that depend on the secret's bytes alone.
        for offset in 0..3 {
            let mut bytes = Zeroizing::new(vec![0u8; offset]);
            bytes.extend_from_slice(secret);
            let total_bits = bytes.len() * 8;
            let (start, end) = ((offset * 8).div_ceil(6), total_bits / 6);
            for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                let encoded = Zeroizing::new(engine.encode(&*bytes));
                if let Some(core) = encoded.as_bytes().get(start..end) {
                    self.push(core.to_vec(), false);
                }
            }
        }
    }

    /// Whether there is nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// `text` with every encoded form of every secret, and the run of token characters
    /// around it (a form field's name, base64 padding), replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let b = text.as_bytes();
        let token = |i: usize| b.get(i).is_some_and(|&c| is_token_char(c as char));
        // Which bytes are redacted: each match, widened to the token run around it.
        let mut hidden: Vec<bool> = Vec::new();
        for p in &self.patterns {
            let mut start = 0;
            while start < b.len() {
                let Some(end) = find_at(b, start, p) else {
                    start += 1;
                    continue;
                };
                let (mut s, mut e) = (start, end);
                while s > 0 && token(s - 1) {
                    s -= 1;
                }
                while token(e) {
                    e += 1;
                }
                // Matches are ASCII-bounded or whole UTF-8 sequences; never cut a character.
                if text.is_char_boundary(s) && text.is_char_boundary(e) {
                    hidden.resize(b.len(), false);
                    hidden[s..e].fill(true);
                }
                start = end;
            }
        }
        if hidden.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while at < b.len() {
            let run = hidden[at..]
                .iter()
                .take_while(|&&h| h == hidden[at])
                .count();
            if hidden[at] {
                out.push_str(REDACTED);
            } else {
                out.push_str(text.get(at..at + run).unwrap_or_default());
            }
            at += run;
        }
        out
    }
}

/// The end of a match of `p` starting exactly at `start`, skipping separators between its
/// characters.
fn find_at(text: &[u8], start: usize, p: &Pattern) -> Option<usize> {
    let eq = |a: u8, b: u8| a == b || (p.fold_case && a.eq_ignore_ascii_case(&b));
    let (mut j, mut k) = (start, 0);
    while k < p.bytes.len() {
        let c = *text.get(j)?;
        if eq(c, p.bytes[k]) {
            k += 1;
        } else if k == 0 || !is_separator(c) {
            return None;
        }
        j += 1;
    }
    Some(j)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};

    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    /// `secret` in every encoding the module promises to find.
    pub(crate) fn encodings(secret: &str) -> Vec<String> {
        let b = secret.as_bytes();
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let groups = |s: &str, n: usize, sep: &str| {
            s.as_bytes()
                .chunks(n)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(sep)
        };
        vec![
            secret.to_owned(),
            b.iter().map(|x| format!("%{x:02X}")).collect(),
            b.iter().map(|x| format!("%{x:02x}")).collect(),
            STANDARD.encode(b),
            STANDARD_NO_PAD.encode(b),
            URL_SAFE.encode(b),
            URL_SAFE_NO_PAD.encode(b),
            STANDARD.encode(format!("client_secret={secret}")),
            STANDARD.encode(format!("x{secret}")),
            STANDARD.encode(format!("xy{secret}")),
            hex.clone(),
            hex.to_uppercase(),
            groups(secret, 4, " "),
            groups(secret, 4, "-"),
            groups(secret, 8, "\n"),
            groups(&hex, 2, " "),
            groups(&hex, 60, "\n"),
            groups(&hex.to_uppercase(), 4, " "),
        ]
    }

    #[test]
    fn every_encoding_is_found_and_the_text_around_it_stays() {
        let known = KnownSecrets::new([SECRET.as_bytes()]);
        for encoded in encodings(SECRET) {
            let text = format!("<p>echo: {encoded}\nbye</p>");
            let out = known.redact(&text);
            assert_eq!(out, "<p>echo: [redacted]\nbye</p>", "{encoded:?}");
        }
        let plain = "invalid client_secret (HTTP 400), see 0123 docs";
        assert_eq!(known.redact(plain), plain);
    }

    #[test]
    fn a_secret_with_url_special_characters_is_found_form_encoded() {
        let token = "ab+cd/ef=gh ij&kl";
        let known = KnownSecrets::new([token.as_bytes()]);
        let form = serde_urlencoded::to_string([("access_token", token)]).unwrap();
        assert_eq!(known.redact(&format!("got {form}!")), "got [redacted]!");
    }

    #[test]
    fn a_request_names_its_secrets() {
        let body =
            b"grant_type=client_credentials&client_id=1234567890&client_secret=s3cret".to_vec();
        let request = http::Request::new(body);
        let known = KnownSecrets::of_request(&request);
        assert_eq!(known.redact("s3cret 1234567890"), "[redacted] 1234567890");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_finds_the_secret_in_any_text(
            secret in "[ -~]{4,40}", before in ".{0,20}", after in ".{0,20}",
        ) {
            let known = KnownSecrets::new([secret.as_bytes()]);
            let out = known.redact(&format!("{before} {secret} {after}"));
            proptest::prop_assert!(!out.contains(&secret), "{out}");
        }
    }
}
