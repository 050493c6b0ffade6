//! Servers that echo secrets. A proxy's error page or a confused server may repeat the request
//! it got (channel secret, client assertion, access token) in its error body. The crate keeps
//! error text for people to read, so before any of it is stored in an error, every run of
//! token-like characters long enough to be a credential is replaced by `[redacted]`.
//!
//! A run is redacted when it is at least [`MIN_RUN`] characters of base64/base64url/hex/JWT
//! alphabet and mixes letters and digits: channel secrets (32 hex digits), access tokens and
//! JWTs always do, while LINE's own words (`invalid_client`, "Invalid token_exp") never do.
//! Callers that know their secrets (the `line-token` CLI) scrub them exactly as well.

/// The shortest run that is redacted.
pub(crate) const MIN_RUN: usize = 20;

/// How much of a body is examined for an excerpt: enough that a secret crossing the excerpt's
/// end is seen whole (and redacted whole), bounded whatever the body's size.
pub(crate) const SCAN_LIMIT: usize = 4096;

/// The text that replaces a redacted run.
pub(crate) const REDACTED: &str = "[redacted]";

/// A character of base64, base64url, hex, JWTs or URL-encoding.
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-' | '.' | '~' | '%')
}

fn looks_secret(run: &str) -> bool {
    run.len() >= MIN_RUN
        && run.bytes().any(|b| b.is_ascii_digit())
        && run.bytes().any(|b| b.is_ascii_alphabetic())
}

/// `text` with every credential-like run replaced by [`REDACTED`].
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run_start = None;
    for (i, c) in text.char_indices() {
        match (is_token_char(c), run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                push_run(&mut out, &text[start..i]);
                run_start = None;
                out.push(c);
            }
            (false, None) => out.push(c),
            (true, Some(_)) => {}
        }
    }
    if let Some(start) = run_start {
        push_run(&mut out, &text[start..]);
    }
    out
}

/// `text`, read from a body cut short, without the run of token characters at its end: that
/// run may be the start of a credential cut by the cut, too short to look like one.
pub(crate) fn drop_cut_run(text: &str) -> &str {
    text.trim_end_matches(is_token_char)
}

fn push_run(out: &mut String, run: &str) {
    out.push_str(if looks_secret(run) { REDACTED } else { run });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_and_words_stay() {
        let secret = "0123456789abcdef0123456789abcdef";
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl";
        let text = format!("bad client_secret={secret} with client_assertion={jwt}!");
        // (`=` is base64 padding, so a form field's name goes with its value.)
        assert_eq!(redact(&text), "bad [redacted] with [redacted]!");
        for words in [
            "invalid client_secret",
            "Invalid token_exp",
            "The maximum number of access tokens has already been issued",
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "<html><title>502 Bad Gateway</title></html>",
            "",
        ] {
            assert_eq!(redact(words), words);
        }
    }

    #[test]
    fn a_run_at_the_cut_is_dropped_whole() {
        assert_eq!(
            drop_cut_run("page [redacted] SECRETcanary012"),
            "page [redacted] "
        );
        assert_eq!(drop_cut_run("ends in a space "), "ends in a space ");
        assert_eq!(drop_cut_run(""), "");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_leaves_no_long_mixed_run(text in ".*") {
            let out = redact(&text);
            for run in out.split(|c: char| !is_token_char(c)) {
                proptest::prop_assert!(!looks_secret(run), "{run}");
            }
        }
    }
}
