//! What a command was given: the options on its command line (parsed by clap, `args.rs`),
//! each with its environment fallback, read by the option's long name.

use std::collections::HashMap;
use std::time::Duration;

use crate::failure::{usage, Failure};
use crate::scrub;

/// The environment variable each option falls back to when not given (empty counts as unset).
pub const ENV: &[(&str, &str)] = &[
    ("api-base", "LINE_API_BASE"),
    ("channel-id", "LINE_CHANNEL_ID"),
    ("channel-secret-file", "LINE_CHANNEL_SECRET_FILE"),
    ("channel-secret", "LINE_CHANNEL_SECRET"),
    ("token", "LINE_CHANNEL_ACCESS_TOKEN"),
    ("kid", "LINE_KEY_ID"),
    ("key", "LINE_PRIVATE_KEY_FILE"),
];

/// The environment variable of an option.
pub fn env_of(name: &str) -> Option<&'static str> {
    ENV.iter().find(|(n, _)| *n == name).map(|(_, env)| *env)
}

/// The options given to one command, by long name (flags with an empty value).
pub struct Options {
    values: HashMap<String, String>,
}

impl Options {
    /// What was given on the command line to a command that takes the options `longs`.
    ///
    /// # Errors
    /// A variable that is set but not UTF-8 would read as unset, and the message would say
    /// "missing" about something the user did give: that is a usage error.
    pub fn new(given: Vec<(String, String)>, longs: &[&str]) -> Result<Options, Failure> {
        let values: HashMap<String, String> = given.into_iter().collect();
        for name in longs.iter().chain(&["api-base"]) {
            let env = match env_of(name) {
                Some(env) if !values.contains_key(*name) => env,
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
        std::env::var(env_of(name)?).ok().filter(|v| !v.is_empty())
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
    for name in names {
        ways.push(match placeholder(name) {
            Some(v) => format!("--{name} {v}"),
            None => format!("--{name}"),
        });
        if let Some(env) = env_of(name) {
            ways.push(format!("${env}"));
        }
    }
    match ways.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The value's placeholder in the help (`FILE|-`), as declared in `args.rs`.
fn placeholder(name: &str) -> Option<String> {
    let cmd = crate::args::command();
    let arg = cmd
        .get_subcommands()
        .flat_map(|c| c.get_arguments())
        .find(|a| a.get_long() == Some(name))?;
    let names = arg.get_value_names()?;
    names.first().map(ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fallback_is_an_option_and_messages_name_both() {
        for (name, env) in ENV {
            assert!(
                placeholder(name).is_some(),
                "{name} is not an option with a value"
            );
            assert!(describe(&[name]).contains(&format!("${env}")));
        }
        assert_eq!(
            describe(&["channel-secret-file", "channel-secret"]),
            "--channel-secret-file FILE|-, $LINE_CHANNEL_SECRET_FILE, --channel-secret SECRET \
             or $LINE_CHANNEL_SECRET"
        );
    }
}
