//! The command line as clap parses it: help that fits 100 columns, shell completions, and
//! every refusal of the earlier hand-written parser, each still a one-line usage error.

mod common;

use common::cli::*;

/// Every command, as `line-token --help` lists them (so a new one needs no line here).
fn commands() -> Vec<String> {
    let help = stdout(&line_token(&["--help"], &[]));
    let listed = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands: section");
    let names: Vec<String> = listed
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|&name| name != "help")
        .map(str::to_owned)
        .collect();
    for known in ["issue-v2.1", "keygen", "token", "completions"] {
        assert!(names.iter().any(|n| n == known), "{known} not in {names:?}");
    }
    names
}

/// Every line of `text` is at most 100 columns.
fn assert_fits(args: &[&str], text: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "{args:?}: a line of {} columns: {line}",
            line.chars().count()
        );
    }
}

#[test]
fn every_help_fits_100_columns_however_wide_the_terminal() {
    let mut helps = vec![vec!["--help"], vec!["help"]];
    let commands = commands();
    for c in &commands {
        helps.push(vec!["help", c.as_str()]);
        helps.push(vec![c.as_str(), "--help"]);
    }
    for args in helps {
        let o = command(&args, &[]).env("COLUMNS", "300").output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let help = stdout(&o);
        assert!(help.contains("EXIT CODES") || args == ["help"] || args == ["--help"]);
        assert_fits(&args, &help);
    }
    // The option every command takes, and the command it is about.
    let help = stdout(&line_token(&["help", "token"], &[]));
    assert!(help.contains("--api-base <URL>") && help.contains("[$LINE_API_BASE]"));
    assert!(help.contains("--store <redis://HOST:PORT/DB>"), "{help}");
}

#[test]
fn completions_for_bash_zsh_and_fish_name_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let o = line_token(&["completions", shell], &[]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        for c in [
            "issue-v2.1",
            "token",
            "channel-secret-file",
            "force-refresh",
        ] {
            assert!(script.contains(c), "{shell} completion lacks {c}");
        }
    }
    let err = failed(&line_token(&["completions", "tcsh"], &[]), 2);
    assert!(err.contains("bash, zsh, fish"), "{err}");
    failed(&line_token(&["completions"], &[]), 2);
}

/// Each refusal, its exit code 2, one line, and what the line says.
#[test]
fn what_the_parser_refuses_is_refused_with_one_line_saying_why() {
    for (args, says) in [
        (&[][..], "no command given"),
        (&["frobnicate"][..], "unknown command"),
        (&["help", "frobnicate"][..], "unknown command"),
        (&["verify", "--token"][..], "--token needs a value"),
        (
            &["verify", "--token", "a", "--token", "b"][..],
            "--token given twice",
        ),
        (
            &["verify", "--token=a", "--token=b"][..],
            "--token given twice",
        ),
        (
            &["verify", "--bogus", "x"][..],
            "--bogus is not an option of verify",
        ),
        (&["verify", "--tokne", "x"][..], "did you mean --token?"),
        (&["verify", "x"][..], "options start with --"),
        (
            &["token", "--force-refresh=yes"][..],
            "--force-refresh takes no value",
        ),
        (
            &["token", "--force-refresh", "--force-refresh"][..],
            "--force-refresh given twice",
        ),
        (
            &["keygen", "--token", "t"][..],
            "--token is not an option of keygen",
        ),
        // A duplicated --api-base: twice before the command, twice after, once each side.
        (
            &["--api-base", "http://a", "--api-base", "http://b", "verify"][..],
            "--api-base given twice",
        ),
        (
            &["verify", "--api-base=http://a", "--api-base=http://b"][..],
            "--api-base given twice",
        ),
        (
            &[
                "--api-base",
                "http://a",
                "verify",
                "--api-base",
                "http://b",
                "--token",
                "t",
            ][..],
            "--api-base given twice",
        ),
    ] {
        let err = failed(&line_token(args, &[]), 2);
        assert!(err.contains(says), "{args:?} should say {says:?}: {err}");
    }
}

/// Secrets where a file was asked for, and secret-looking words anywhere, are refused
/// without being repeated.
#[test]
fn secret_looking_arguments_are_refused_and_never_repeated() {
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2VjcmV0LXRva2Vu";
    let pem = format!("-----BEGIN PRIVATE KEY-----\nMIIEv{token}\n-----END PRIVATE KEY-----");
    for (args, says) in [
        (
            vec!["public-jwk", "--key", &pem],
            "looks like the key itself",
        ),
        (vec!["verify", token], "unexpected argument"),
        (vec![token], "unknown command"),
        (vec!["help", token], "unknown command"),
        (vec!["verify", &format!("--{token}")], "looks like a secret"),
        (
            vec!["verify", "--token", token, "--token", token],
            "given twice",
        ),
        (vec!["completions", token], "takes a shell"),
    ] {
        let err = failed(&line_token(&args, &[]), 2);
        assert!(err.contains(says), "{args:?} should say {says:?}: {err}");
        assert!(
            !err.contains("c2VjcmV0LXRva2Vu"),
            "{args:?} repeated: {err}"
        );
    }
}

/// Every operation has a command, and its help says the route it calls: a new operation fails
/// here until `args.rs` declares its command (whose row in `commands.rs` and function in
/// `handlers.rs` `args.rs`'s own test and the compiler then ask for).
#[test]
fn the_help_names_a_command_for_every_operation() {
    let o = command(&["--help"], &[])
        .env("COLUMNS", "300")
        .output()
        .unwrap();
    // Help lines wrap at 100 columns, so compare with the whitespace collapsed.
    let help = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
    for op in line_channel_token::Operation::ALL {
        let route = format!("({} {}", op.method(), op.path());
        assert!(
            help.contains(&route),
            "no command for {op:?} {route}):\n{help}"
        );
    }
}
