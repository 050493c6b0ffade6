//! What clap refused, as the one line on stderr the CLI promises: built from the error's
//! context (the kind, the option, clap's suggestion), never from clap's own text, which quotes
//! the argument whatever it holds (a pasted token, a key).

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::scrub;

fn context(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        other => Some(other.to_string()),
    }
}

/// The option's name in clap's "--name <VALUE>" rendering.
fn option_name(rendered: &str) -> String {
    rendered
        .split([' ', '='])
        .next()
        .unwrap_or(rendered)
        .to_owned()
}

/// One line saying what is wrong, built from clap's context (never its own text, which
/// quotes the argument whatever it holds).
pub fn line(e: &clap::Error, command: Option<&str>) -> String {
    let see = match command {
        Some(c) => format!("see `line-token help {c}`"),
        None => "see line-token --help".to_owned(),
    };
    let arg = context(e, ContextKind::InvalidArg).unwrap_or_default();
    let suggestion = context(e, ContextKind::SuggestedArg)
        .filter(|s| s.starts_with("--"))
        .map(|s| format!(" (did you mean {}?)", option_name(&s)))
        .unwrap_or_default();
    match e.kind() {
        ErrorKind::UnknownArgument if arg.starts_with("--") => {
            let of = command.map(|c| format!(" of {c}")).unwrap_or_default();
            format!(
                "{} is not an option{of}{suggestion}; {see}",
                shown_name(&option_name(&arg))
            )
        }
        ErrorKind::UnknownArgument => format!(
            "unexpected argument {}; options start with --{}; {see}",
            scrub::shown(&arg),
            if arg.contains("://") {
                " (a store URL goes after --store)"
            } else {
                ""
            }
        ),
        ErrorKind::InvalidSubcommand => {
            let name = context(e, ContextKind::InvalidSubcommand).unwrap_or_default();
            format!(
                "unknown command {}; see line-token --help",
                scrub::shown(&name)
            )
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "no command given; see line-token --help".to_owned()
        }
        ErrorKind::MissingRequiredArgument | ErrorKind::InvalidValue
            if command == Some("completions") =>
        {
            "completions takes a shell: bash, zsh, fish, elvish or powershell".to_owned()
        }
        ErrorKind::ArgumentConflict => format!("{} given twice", option_name(&arg)),
        ErrorKind::InvalidValue if context(e, ContextKind::InvalidValue).as_deref() == Some("") => {
            format!("{} needs a value; {see}", option_name(&arg))
        }
        ErrorKind::InvalidValue => {
            let valid = context(e, ContextKind::ValidValue)
                .map(|_| match e.get(ContextKind::ValidValue) {
                    Some(ContextValue::Strings(v)) => format!(" (one of {})", v.join(", ")),
                    _ => String::new(),
                })
                .unwrap_or_default();
            format!("{} takes another value{valid}; {see}", option_name(&arg))
        }
        ErrorKind::TooManyValues | ErrorKind::NoEquals => {
            format!("{} takes no value; {see}", option_name(&arg))
        }
        ErrorKind::InvalidUtf8 => "an argument is not UTF-8 text".to_owned(),
        ErrorKind::MissingRequiredArgument => format!("missing an argument; {see}"),
        _ => format!("cannot read the arguments; {see}"),
    }
}

fn shown_name(name: &str) -> String {
    let bare = name.trim_start_matches('-');
    if scrub::looks_secret(bare) {
        "an option whose name looks like a secret (not shown)".to_owned()
    } else {
        format!("--{}", scrub::line(bare))
    }
}
