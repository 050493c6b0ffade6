//! What each command runs, and the parts of the help that are built rather than declared.
//! The commands, their options and their help lines are declared in `args.rs`, the endpoint
//! commands in `endpoints.rs`.

use crate::failure::{Failure, EXIT_CODES};
use crate::handlers;
use crate::net::Net;
use crate::options::{Options, ENV};

/// What a successful command prints: `text` on stdout, `warnings` on stderr.
pub struct Output {
    pub text: String,
    pub warnings: Vec<String>,
}

impl From<String> for Output {
    fn from(text: String) -> Output {
        Output {
            text,
            warnings: Vec::new(),
        }
    }
}

/// One command.
pub struct Command {
    pub name: &'static str,
    /// Whether it may talk to LINE: only then must the proxy variables be usable.
    pub network: bool,
    pub run: fn(&Net, &Options) -> Result<Output, Failure>,
}

/// The table of the commands that call no endpoint, or several (`token`); the endpoint
/// commands' rows are in `endpoints.rs`.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "keygen",
        network: false,
        run: handlers::keygen,
    },
    Command {
        name: "public-jwk",
        network: false,
        run: handlers::public_jwk,
    },
    Command {
        name: "assertion",
        network: false,
        run: handlers::assertion,
    },
    Command {
        name: "token",
        network: true,
        run: crate::token::run,
    },
];

/// Every row: the endpoint commands, then the others.
pub fn all() -> impl Iterator<Item = &'static Command> {
    crate::endpoints::COMMANDS.iter().chain(COMMANDS)
}

/// The command of that name.
pub fn find(name: &str) -> Option<&'static Command> {
    all().find(|c| c.name == name)
}

/// The end of `line-token --help`: where secrets come from, the environment, the output and
/// the exit codes. Every line fits 100 columns.
pub fn help_epilogue() -> String {
    let mut out = String::from(
        "SECRETS: give them in files, stdin (-) or the environment. Arguments are visible to \
         every user\nof the machine (ps, /proc), so --channel-secret and --token are a last resort.\n  \
         channel secret  --channel-secret-file FILE|-, $LINE_CHANNEL_SECRET_FILE, $LINE_CHANNEL_SECRET\n  \
         access token    --token-file FILE|-, $LINE_CHANNEL_ACCESS_TOKEN\n  \
         signing key     --key FILE|-, $LINE_PRIVATE_KEY_FILE, or $LINE_PRIVATE_KEY holding the key\n                  \
         itself (a private JWK, PKCS#8 or PKCS#1 PEM; RSA 2048 bits)\n\n\
         ENVIRONMENT (used when the option is not given):\n",
    );
    for (name, env) in ENV {
        out.push_str(&format!("  --{name:<20} ${env}\n"));
    }
    out.push_str(
        "  a proxy                $ALL_PROXY, $HTTPS_PROXY or $HTTP_PROXY, the first set, http:// or\n\
         \x20                        https:// only ($NO_PROXY: hosts reached directly)\n\
         \nOUTPUT: one JSON object with LINE's field names on stdout (revoke prints {}); \
         token and\nassertion print the bare token. Errors: exactly one line on stderr.\n\n",
    );
    out.push_str(&exit_codes_section());
    out
}

/// The exit codes, at the end of every help.
pub fn exit_codes_section() -> String {
    let mut out = String::from("EXIT CODES:\n");
    for (code, meaning) in EXIT_CODES {
        let mut line = format!("  {code} ");
        for word in meaning.split(' ') {
            if line.len() + 1 + word.len() > HELP_WIDTH {
                out.push_str(&line);
                out.push('\n');
                line = "    ".to_owned();
            }
            line.push(' ');
            line.push_str(word);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

/// The widest line of any help, in columns.
pub const HELP_WIDTH: usize = 100;
