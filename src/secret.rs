//! Secret strings: the channel secret, access tokens and client assertions.
//!
//! Each is its own type so it cannot be passed where another is expected, and none of them
//! prints its value: `Debug` and `Display` show a redaction marker. Reading the raw value is an
//! explicit call to `expose_secret`, which is easy to grep for in an audit. Each overwrites its
//! bytes with zeros when dropped, and compares in constant time.

use std::fmt;
use std::hash::{Hash, Hasher};

use http::header::{HeaderValue, AUTHORIZATION};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Compares two byte strings in time that depends on their lengths only, never on where they
/// first differ, so that comparing a guess against a secret does not reveal a matching prefix.
///
/// Written here because `subtle` is not a dependency: XOR-accumulate every byte pair, then
/// test the accumulator once. `black_box` keeps the optimiser from turning the loop back into
/// an early-exit comparison. Lengths are not secret (tokens and keys have public sizes).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(String);

        /// Constant-time: the time taken does not depend on the secret's content.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                ct_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl Eq for $name {}

        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.0.hash(state)
            }
        }

        /// Overwrites the value with zeros.
        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        impl ZeroizeOnDrop for $name {}

        impl $name {
            /// Wraps a raw value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The raw value. Every call site is a place where the secret leaves this type.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("<redacted>")
            }
        }
    };
}

secret_string! {
    /// A channel secret (`client_secret`), from the LINE Developers Console.
    ///
    /// ```
    /// use line_channel_token::ChannelSecret;
    /// let secret = ChannelSecret::new("s3cr3t");
    /// assert_eq!(format!("{secret:?}"), "ChannelSecret(<redacted>)");
    /// assert_eq!(secret.expose_secret(), "s3cr3t");
    /// ```
    ChannelSecret
}

secret_string! {
    /// A channel access token (`access_token`): the bearer credential of every Messaging API call.
    ///
    /// It serializes as its raw value (so a token cache can be persisted) but never prints it.
    ///
    /// ```
    /// use line_channel_token::AccessToken;
    /// let token = AccessToken::new("eyJhbGciOiJIUz.....");
    /// assert_eq!(token.to_string(), "<redacted>");
    /// ```
    AccessToken
}

secret_string! {
    /// A signed JWT client assertion (`client_assertion`), valid for up to 30 minutes.
    ///
    /// Build one with [`crate::AssertionBuilder`], or wrap one signed elsewhere with
    /// [`ClientAssertion::new`].
    ///
    /// ```
    /// use line_channel_token::{ClientAssertion, KeyIdsV21};
    /// let assertion = ClientAssertion::new("eyJhbGciOiJSUzI1NiIs..."); // signed elsewhere
    /// assert_eq!(format!("{assertion:?}"), "ClientAssertion(<redacted>)");
    /// let _list_key_ids = KeyIdsV21::new(&assertion);
    /// ```
    ClientAssertion
}

impl AccessToken {
    /// The `Authorization: Bearer <token>` header value, marked sensitive so that `http`
    /// and well-behaved clients keep it out of their logs.
    ///
    /// Returns `None` only when the token holds bytes that no HTTP header may carry
    /// (control characters), which no token issued by LINE does.
    pub fn bearer_header(&self) -> Option<HeaderValue> {
        // The copy `http` makes is the header's; this temporary is ours, so it is wiped.
        let text = Zeroizing::new(format!("Bearer {}", self.0));
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Puts `Authorization: Bearer <token>` on any Messaging API request: what the token is for.
    ///
    /// Returns `false` (leaving the request unchanged) when the token cannot be a header value.
    ///
    /// ```
    /// use line_channel_token::http;
    /// use line_channel_token::AccessToken;
    /// let token = AccessToken::new("W1TeHCgfH2Liwa");
    /// let mut push = http::Request::post("https://api.line.me/v2/bot/message/push")
    ///     .body(Vec::<u8>::new())
    ///     .unwrap();
    /// assert!(token.authorize(&mut push));
    /// assert_eq!(push.headers()["authorization"], "Bearer W1TeHCgfH2Liwa");
    /// ```
    pub fn authorize<B>(&self, request: &mut http::Request<B>) -> bool {
        match self.bearer_header() {
            Some(value) => {
                request.headers_mut().insert(AUTHORIZATION, value);
                true
            }
            None => false,
        }
    }
}

impl serde::Serialize for AccessToken {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for AccessToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_prints_the_value() {
        let secret = ChannelSecret::new("hunter2");
        let token = AccessToken::new("tok-hunter2");
        let assertion = ClientAssertion::new("eyJ.hunter2.sig");
        for shown in [
            format!("{secret:?} {secret} {secret:#?}"),
            format!("{token:?} {token} {token:#?}"),
            format!("{assertion:?} {assertion} {assertion:#?}"),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(ChannelSecret::new("abc"), ChannelSecret::new("abc"));
        assert_ne!(ChannelSecret::new("abc"), ChannelSecret::new("abd"));
        assert_ne!(ChannelSecret::new("abc"), ChannelSecret::new("abcd"));
        assert!(ct_eq(b"", b""));
        assert!(!ct_eq(b"a", b""));
        assert!(!ct_eq(b"\x00\x01", b"\x00\x02"));
    }

    #[test]
    fn zeroize_wipes_the_value() {
        // What `Drop` runs; reading freed memory to prove it would need `unsafe`.
        let mut secret = String::from("hunter2");
        secret.zeroize();
        assert!(secret.is_empty());
        let mut token = AccessToken::new("tok");
        token.0.zeroize();
        assert_eq!(token.expose_secret(), "");
    }

    #[test]
    fn bearer_header_is_sensitive() {
        let value = AccessToken::new("abc").bearer_header().unwrap();
        assert!(value.is_sensitive());
        assert_eq!(value, "Bearer abc");
        assert!(AccessToken::new("bad\ntoken").bearer_header().is_none());
    }

    #[test]
    fn token_serde_round_trip() {
        let token = AccessToken::new("a\"b");
        let json = serde_json::to_string(&token).unwrap();
        assert_eq!(json, r#""a\"b""#);
        let back: AccessToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back, token);
    }
}
