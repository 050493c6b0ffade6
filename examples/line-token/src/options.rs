//! Every option the CLI knows, once: its value, its environment fallback and its help line.
//! Commands list which of these they take (see `commands.rs`); parsing follows that list.

use std::collections::HashMap;
use std::time::Duration;

use line_channel_token::{MAX_ASSERTION_TTL, MAX_TOKEN_EXP};

use crate::failure::{usage, Failure};
use crate::scrub;

/// One option.
pub struct OptSpec {
    /// `--name`.
    pub name: &'static str,
    /// The value's placeholder, or `None` for a flag.
    pub value: Option<&'static str>,
    /// The environment variable read when the option is not given.
    pub env: Option<&'static str>,
    /// One line of help.
    pub help: &'static str,
}

impl OptSpec {
    /// The help line, with LINE's limits filled in from the crate's facts (written once there).
    pub fn help_line(&self) -> String {
        let token_exp = MAX_TOKEN_EXP.as_secs();
        self.help
            .replace(
                "{MAX_TOKEN_EXP}",
                &format!("{token_exp}, {} days", token_exp / 86_400),
            )
            .replace(
                "{MAX_ASSERTION_TTL}",
                &MAX_ASSERTION_TTL.as_secs().to_string(),
            )
    }
}

const fn opt(
    name: &'static str,
    value: &'static str,
    env: Option<&'static str>,
    help: &'static str,
) -> OptSpec {
    OptSpec {
        name,
        value: Some(value),
        env,
        help,
    }
}

/// The table.
pub const OPTIONS: &[OptSpec] = &[
    opt(
        "api-base",
        "URL",
        Some("LINE_API_BASE"),
        "where LINE is (default https://api.line.me); also before the command",
    ),
    opt(
        "channel-id",
        "ID",
        Some("LINE_CHANNEL_ID"),
        "the channel ID",
    ),
    opt(
        "channel-secret-file",
        "FILE|-",
        Some("LINE_CHANNEL_SECRET_FILE"),
        "a file holding the channel secret; - reads it from stdin",
    ),
    opt(
        "channel-secret",
        "SECRET",
        Some("LINE_CHANNEL_SECRET"),
        "the channel secret itself (argv is visible to other users: prefer the file)",
    ),
    opt(
        "token-file",
        "FILE|-",
        None,
        "a file holding the access token; - reads it from stdin",
    ),
    opt(
        "token",
        "TOKEN",
        Some("LINE_CHANNEL_ACCESS_TOKEN"),
        "the access token itself (argv is visible to other users: prefer the file)",
    ),
    opt(
        "kid",
        "KID",
        Some("LINE_KEY_ID"),
        "the key ID the Console gave the public key",
    ),
    opt(
        "key",
        "FILE|-",
        Some("LINE_PRIVATE_KEY_FILE"),
        "the private key file (JWK or PEM); $LINE_PRIVATE_KEY may hold the key itself",
    ),
    opt(
        "token-exp",
        "SECS",
        None,
        "v2.1 token lifetime (default and maximum {MAX_TOKEN_EXP})",
    ),
    opt(
        "ttl",
        "SECS",
        None,
        "assertion lifetime (default {MAX_ASSERTION_TTL}, the maximum)",
    ),
    opt(
        "type",
        "TYPE",
        None,
        "stateless (default), v2.1 or short-lived",
    ),
    opt(
        "cache",
        "FILE",
        None,
        "the cache file, shared by every run (mode 0600, in a directory only you can write)",
    ),
    opt(
        "store",
        "URL",
        None,
        "share the token with every process on every machine through Redis (instead of --cache): redis://[USER:PASSWORD@]HOST:PORT/DB, rediss:// (TLS), redis+unix:///PATH",
    ),
    opt(
        "store-prefix",
        "PREFIX",
        None,
        "the Redis key prefix (default line-token); keys are PREFIX:CHANNEL_ID:TYPE",
    ),
    opt(
        "store-ca",
        "FILE",
        None,
        "with --store rediss://: trust only the CA certificates (PEM) in FILE (default: the system's, or $SSL_CERT_FILE)",
    ),
    opt(
        "store-lease",
        "SECS",
        None,
        "with --store: how long one process may refresh before another takes over (default 30)",
    ),
    opt(
        "store-budget",
        "N",
        None,
        "with --store, short-lived and v2.1: at most N of the fleet's tokens out (default 20 of LINE's 30)",
    ),
    opt(
        "refresh-before",
        "SECS",
        None,
        "refresh when the token has less than this left (default: a third of its life)",
    ),
    opt(
        "lock-timeout",
        "SECS",
        None,
        "wait at most this long for another run holding the cache (default 30), then exit 3",
    ),
    OptSpec {
        name: "force-refresh",
        value: None,
        env: None,
        help: "issue a new token even if the cached one is still good",
    },
    opt(
        "private",
        "FILE",
        None,
        "where to write the new private JWK (mode 0600)",
    ),
    opt(
        "public",
        "FILE",
        None,
        "where to write the Console public JWK",
    ),
];

/// The spec of a known option.
pub fn spec(name: &str) -> Option<&'static OptSpec> {
    OPTIONS.iter().find(|o| o.name == name)
}

/// `--name VALUE`, `--name=VALUE` and flags, as given to one command.
pub struct Options {
    values: HashMap<&'static str, String>,
}

impl Options {
    /// Parses `args` for a command that takes `allowed` (plus `--api-base`).
    pub fn parse(command: &str, allowed: &[&str], args: &[String]) -> Result<Options, Failure> {
        let mut values = HashMap::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(usage(format!(
                    "unexpected argument {}; options start with --; see `line-token help {command}`",
                    scrub::shown(arg)
                )));
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let known = spec(name).filter(|s| s.name == "api-base" || allowed.contains(&s.name));
            let Some(spec) = known else {
                return Err(usage(format!(
                    "{} is not an option of {command}; see `line-token help {command}`",
                    shown_name(name)
                )));
            };
            let value = match (spec.value, inline) {
                (None, None) => String::new(),
                (None, Some(_)) => {
                    return Err(usage(format!("--{} takes no value", spec.name)));
                }
                (Some(_), Some(v)) => v.to_owned(),
                (Some(placeholder), None) => it.next().cloned().ok_or_else(|| {
                    usage(format!("--{} needs a value ({placeholder})", spec.name))
                })?,
            };
            // An unset shell variable (`--token "$TOKEN"`) is a usage error here, not a request
            // LINE refuses with exit 1.
            if spec.value.is_some() && value.is_empty() {
                return Err(usage(format!(
                    "--{} needs a value, not an empty one",
                    spec.name
                )));
            }
            if values.insert(spec.name, value).is_some() {
                return Err(usage(format!("--{} given twice", spec.name)));
            }
        }
        // A variable that is set but not UTF-8 would read as unset, and the message would
        // say "missing" about something the user did give.
        for name in allowed.iter().chain(&["api-base"]) {
            let env = match spec(name).and_then(|s| s.env) {
                Some(env) if !values.contains_key(name) => env,
                _ => continue,
            };
            let also = (*name == "key").then_some("LINE_PRIVATE_KEY");
            for var in std::iter::once(env).chain(also) {
                if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(var) {
                    return Err(usage(format!("${var} is set but is not UTF-8 text")));
                }
            }
        }
        Ok(Options { values })
    }

    /// The option's value, or its environment fallback (empty counts as unset).
    pub fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.values.get(name) {
            return Some(v.clone());
        }
        std::env::var(spec(name)?.env?)
            .ok()
            .filter(|v| !v.is_empty())
    }

    /// Whether the option was given on the command line (not the environment).
    pub fn given(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// A required option; the message names it and its environment variable.
    pub fn require(&self, name: &str) -> Result<String, Failure> {
        self.get(name)
            .ok_or_else(|| usage(format!("missing {}", describe(&[name]))))
    }

    /// A whole number of seconds.
    pub fn seconds(&self, name: &str) -> Result<Option<Duration>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<u64>()
                .map(|s| Some(Duration::from_secs(s)))
                .map_err(|_| {
                    usage(format!(
                        "--{name} takes a whole number of seconds, not {}",
                        scrub::shown(&v)
                    ))
                }),
        }
    }
}

/// "--channel-secret-file FILE|-, $LINE_CHANNEL_SECRET_FILE, --channel-secret SECRET or
/// $LINE_CHANNEL_SECRET": every way to give the named options, best first.
pub fn describe(names: &[&str]) -> String {
    let mut ways = Vec::new();
    for s in names.iter().filter_map(|n| spec(n)) {
        ways.push(match s.value {
            Some(v) => format!("--{} {v}", s.name),
            None => format!("--{}", s.name),
        });
        if let Some(env) = s.env {
            ways.push(format!("${env}"));
        }
    }
    match ways.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn shown_name(name: &str) -> String {
    if scrub::looks_secret(name) {
        "an option whose name looks like a secret (not shown)".to_owned()
    } else {
        format!("--{}", scrub::line(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lines_quote_lines_limits_and_leave_no_placeholder() {
        let help = |name| spec(name).map(OptSpec::help_line).unwrap_or_default();
        assert_eq!(
            help("token-exp"),
            "v2.1 token lifetime (default and maximum 2592000, 30 days)"
        );
        assert_eq!(
            help("ttl"),
            "assertion lifetime (default 1800, the maximum)"
        );
        for o in OPTIONS {
            assert!(!o.help_line().contains('{'), "{}", o.name);
        }
    }
}
