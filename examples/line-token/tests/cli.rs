//! The `line-token` command line contract: help, exit codes, every endpoint, keys.
//! The file cache is `cli_cache.rs`; secrets and hostile servers are `cli_secrets.rs`.

mod common;

use common::cli::*;
use common::*;

#[test]
fn help_documents_every_command() {
    let o = line_token(&["--help"], &[]);
    assert_eq!(o.status.code(), Some(0));
    for cmd in [
        "issue-short-lived",
        "issue-stateless",
        "verify",
        "verify-v2.1",
        "revoke",
        "revoke-v2.1",
        "keygen",
        "public-jwk",
        "assertion",
        "issue-v2.1",
        "key-ids",
        "token",
        "--api-base",
        "$LINE_CHANNEL_SECRET",
        "$LINE_PRIVATE_KEY_FILE",
        "--channel-secret-file",
        "$LINE_CHANNEL_SECRET_FILE",
        "--token-file",
        "$LINE_PRIVATE_KEY",
        "visible to",
        "EXIT CODES",
    ] {
        assert!(stdout(&o).contains(cmd), "--help lacks {cmd}");
    }
    // The exit code table, one line per code.
    for code in [
        "0  success",
        "1  LINE refused",
        "2  usage or local",
        "3  worth retrying",
    ] {
        assert!(stdout(&o).contains(code), "--help lacks {code:?}");
    }
}

#[test]
fn version_and_help_for_one_command() {
    let o = line_token(&["--version"], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o).trim(),
        format!("line-token {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [&["help", "token"][..], &["token", "--help"][..]] {
        let o = line_token(args, &[]);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        let help = stdout(&o);
        for option in [
            "--cache",
            "--lock-timeout",
            "--force-refresh",
            "--channel-secret-file",
            "EXIT CODES",
        ] {
            assert!(help.contains(option), "{args:?} lacks {option}: {help}");
        }
        assert!(!help.contains("--private"), "only the options of token");
    }
    failed(&line_token(&["help", "frobnicate"], &[]), 2);
}

#[test]
fn missing_credentials_name_the_options_the_command_takes() {
    let env = [("LINE_CHANNEL_ID", CHANNEL)];
    for (args, needs) in [
        (
            &["issue-short-lived"][..],
            &[
                "--channel-secret-file",
                "$LINE_CHANNEL_SECRET_FILE",
                "$LINE_CHANNEL_SECRET",
            ][..],
        ),
        (
            &["verify"][..],
            &["--token-file", "$LINE_CHANNEL_ACCESS_TOKEN"][..],
        ),
        (
            &["revoke-v2.1", "--channel-secret", SECRET][..],
            &["--token-file"][..],
        ),
        (
            &["issue-v2.1", "--kid", "k"][..],
            &["--key", "$LINE_PRIVATE_KEY_FILE", "$LINE_PRIVATE_KEY"][..],
        ),
        (
            &["issue-stateless"][..],
            &["--channel-secret-file", "--kid", "--key"][..],
        ),
        (
            &["token", "--cache", "/nonexistent/x"][..],
            &["--channel-secret-file", "--key"][..],
        ),
    ] {
        let err = failed(&line_token(args, &env), 2);
        for n in needs {
            assert!(err.contains(n), "{args:?} should name {n}: {err}");
        }
    }
    let err = failed(&line_token(&["issue-short-lived"], &[]), 2);
    assert!(
        err.contains("--channel-id") && err.contains("$LINE_CHANNEL_ID"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2_with_nothing_on_stdout() {
    for args in [
        &[][..],
        &["frobnicate"][..],
        &["issue-short-lived", "--channel-id", "1"][..],
        &["verify", "--token"][..],
        &["verify", "--bogus", "x"][..],
        &["--api-base", "not a url", "verify", "--token", "t"][..],
        &[
            "--api-base",
            "http://127.0.0.1:1",
            "--api-base",
            "http://127.0.0.1:2",
            "verify",
            "--token",
            "t",
        ][..],
        &[
            "--api-base=http://127.0.0.1:1",
            "--api-base=http://127.0.0.1:2",
            "verify",
            "--token",
            "t",
        ][..],
        &[
            "assertion",
            "--channel-id",
            "1",
            "--kid",
            "k",
            "--key",
            "/nonexistent",
        ][..],
    ] {
        failed(&line_token(args, &[]), 2);
    }
}

#[test]
fn an_empty_value_is_a_usage_error_not_a_request_line_refuses() {
    let base = dead_base();
    for args in [
        &["verify", "--token", ""][..],
        &["verify", "--token="][..],
        &["issue-short-lived", "--channel-secret", ""][..],
        &["issue-stateless", "--kid", "", "--key", "/nonexistent"][..],
    ] {
        let o = line_token(
            args,
            &[("LINE_API_BASE", &base), ("LINE_CHANNEL_ID", CHANNEL)],
        );
        assert!(failed(&o, 2).contains("empty"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn a_variable_that_is_not_utf8_is_named_not_reported_missing() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"\xff\xfe");
    for (var, args) in [
        ("LINE_CHANNEL_ID", &["issue-short-lived"][..]),
        (
            "LINE_CHANNEL_SECRET",
            &["issue-short-lived", "--channel-id", CHANNEL][..],
        ),
        ("LINE_PRIVATE_KEY", &["public-jwk"][..]),
    ] {
        let o = command(args, &[]).env(var, bad).output().unwrap();
        let err = failed(&o, 2);
        assert!(
            err.contains(&format!("${var} is set but is not UTF-8")),
            "{err}"
        );
    }
}

#[test]
fn keygen_to_one_path_for_both_keys_writes_nothing() {
    let dir = Scratch::new("cli-keygen-same");
    let both = dir.path("key.json");
    let both = both.to_str().unwrap();
    let o = line_token(&["keygen", "--private", both, "--public", both], &[]);
    failed(&o, 2);
    assert!(
        !dir.path("key.json").exists(),
        "a private key was left behind"
    );
}

#[test]
fn keygen_public_jwk_and_assertion() {
    let dir = Scratch::new("cli-keys");
    let private = dir.path("k/private.json");
    std::fs::create_dir_all(dir.path("k")).unwrap();
    let public = dir.path("k/public.json");
    let o = line_token(
        &[
            "keygen",
            "--private",
            private.to_str().unwrap(),
            "--public",
            public.to_str().unwrap(),
        ],
        &[],
    );
    let printed = ok_json(&o);
    assert!(printed.get("kid").is_none());
    assert_eq!(printed["alg"], "RS256");
    assert_eq!(printed["use"], "sig");
    let on_disk: serde_json::Value = serde_json::from_str(&dir.read("k/public.json")).unwrap();
    assert_eq!(on_disk, printed);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Never overwrites a key.
    let again = line_token(
        &[
            "keygen",
            "--private",
            private.to_str().unwrap(),
            "--public",
            dir.path("other.json").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists"));

    let o = line_token(&["public-jwk", "--key", private.to_str().unwrap()], &[]);
    assert_eq!(ok_json(&o), printed);

    let o = line_token(
        &[
            "assertion",
            "--channel-id",
            CHANNEL,
            "--kid",
            "k1",
            "--token-exp",
            "86400",
            "--ttl",
            "600",
        ],
        &[("LINE_PRIVATE_KEY_FILE", private.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let jwt = stdout(&o).trim().to_owned();
    let key = line_channel_token::PublicJwk::from_json(&dir.read("k/public.json")).unwrap();
    let decoded = line_channel_token::jwt::Jwt::verify_rs256(&jwt, &key).unwrap();
    assert_eq!(decoded.claim_u64("token_exp"), Some(86_400));
    assert_eq!(decoded.kid(), Some("k1"));

    for bad in [
        &["--ttl", "1801"][..],
        &["--token-exp", "2592001"][..],
        &["--ttl", "ten"][..],
    ] {
        let mut args = vec![
            "assertion",
            "--channel-id",
            CHANNEL,
            "--kid",
            "k1",
            "--key",
            private.to_str().unwrap(),
        ];
        args.extend_from_slice(bad);
        failed(&line_token(&args, &[]), 2);
    }
    // A bad key file: exit 2, a message saying what is wrong.
    let junk = dir.write(
        "junk.pem",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    let o = line_token(&["public-jwk", "--key", junk.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("openssl pkey"), "{}", stderr(&o));
}

#[test]
fn every_endpoint_through_the_cli() {
    let (server, dir, kid) = setup("cli-endpoints");
    let key = dir.path("private.json");
    let key = key.to_str().unwrap();
    let base_owned = server.base.clone();
    let base = base_owned.as_str();
    let env = [
        ("LINE_API_BASE", base),
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_CHANNEL_SECRET", SECRET),
    ];

    let short = ok_json(&line_token(&["issue-short-lived"], &env));
    assert_eq!(short["expires_in"], 2_592_000);
    assert_eq!(short["token_type"], "Bearer");
    let token = short["access_token"].as_str().unwrap();
    let verified = ok_json(&line_token(&["verify", "--token", token], &env));
    assert_eq!(verified["client_id"], CHANNEL);
    assert_eq!(
        ok_json(&line_token(
            &["revoke"],
            &[
                ("LINE_API_BASE", base),
                ("LINE_CHANNEL_ACCESS_TOKEN", token)
            ]
        )),
        serde_json::json!({})
    );

    let stateless = ok_json(&line_token(&["issue-stateless"], &env));
    assert_eq!(stateless["expires_in"], 900);
    let stateless_jwt = ok_json(&line_token(
        &[
            "--api-base",
            base,
            "issue-stateless",
            "--channel-id",
            CHANNEL,
            "--kid",
            &kid,
            "--key",
            key,
        ],
        &[],
    ));
    assert_eq!(stateless_jwt["expires_in"], 900);

    let v21 = ok_json(&line_token(
        &[
            "issue-v2.1",
            "--kid",
            &kid,
            "--key",
            key,
            "--token-exp",
            "3600",
        ],
        &env,
    ));
    assert_eq!(v21["expires_in"], 3600);
    let key_id = v21["key_id"].as_str().unwrap();
    let v21_token = v21["access_token"].as_str().unwrap();
    assert_eq!(
        ok_json(&line_token(&["verify-v2.1", "--token", v21_token], &env))["client_id"],
        CHANNEL
    );
    let kids = ok_json(&line_token(&["key-ids", "--kid", &kid, "--key", key], &env));
    assert!(kids["kids"].as_array().unwrap().iter().any(|k| k == key_id));
    assert_eq!(
        ok_json(&line_token(&["revoke-v2.1", "--token", v21_token], &env)),
        serde_json::json!({})
    );
    let default_exp = ok_json(&line_token(
        &["issue-v2.1", "--kid", &kid, "--key", key],
        &env,
    ));
    assert_eq!(default_exp["expires_in"], 2_592_000);

    // LINE's errors: exit 1, one line on stderr with the status and LINE's words, never the secret.
    let o = line_token(
        &["issue-short-lived", "--channel-secret", "wrong-secret-xyz"],
        &env,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("400") && err.contains("invalid client_secret"),
        "{err}"
    );
    assert!(!err.contains("wrong-secret-xyz"));
    let o = line_token(&["verify-v2.1", "--token", "not-a-jws"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("The access token not JWS"));

    // Unreachable server: worth retrying, exit 3. Not at the stopped server's port: the next
    // server another test starts may be given it.
    drop(server);
    let dead = dead_base();
    let o = line_token(
        &["issue-short-lived"],
        &[
            ("LINE_API_BASE", &dead),
            ("LINE_CHANNEL_ID", CHANNEL),
            ("LINE_CHANNEL_SECRET", SECRET),
        ],
    );
    assert!(failed(&o, 3).contains("could not reach"), "{}", stderr(&o));
}

#[test]
fn exit_codes_tell_a_script_what_is_worth_retrying() {
    let env = |base: &str| {
        vec![
            ("LINE_API_BASE".to_owned(), base.to_owned()),
            ("LINE_CHANNEL_ID".to_owned(), CHANNEL.to_owned()),
            ("LINE_CHANNEL_SECRET".to_owned(), SECRET.to_owned()),
        ]
    };
    for (status, body, code) in [
        (
            400,
            r#"{"error":"invalid_client","error_description":"invalid client_secret"}"#,
            1,
        ),
        (401, r#"{"message":"Authentication failed"}"#, 1),
        (429, "", 3),
        (408, "<html>Request Timeout</html>", 3),
        (500, "", 3),
        (503, "<html>Service Unavailable</html>", 3),
        (404, "<html>Not Found</html>", 1),
    ] {
        let server = FakeLine::start(move |_| (status, body.to_owned()));
        let env = env(&server.base);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let err = failed(&line_token(&["issue-short-lived"], &env), code);
        assert!(err.contains(&status.to_string()), "{status}: {err}");
    }
    // Nothing listening: exit 3.
    let base = dead_base();
    let env = env(&base);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    failed(&line_token(&["issue-short-lived"], &env), 3);
}

#[test]
fn a_redirect_is_not_followed_so_revoke_never_reports_a_revocation_that_did_not_happen() {
    // A captive portal or misconfigured proxy: every POST is sent to a page that answers
    // GET with `200 {}`, which is exactly revoke's success.
    let server = FakeLine::start(|request| {
        if request.starts_with("POST") {
            (302, "/landing".to_owned())
        } else {
            (200, "{}".to_owned())
        }
    });
    let o = line_token_stdin(
        &["--api-base", &server.base, "revoke", "--token-file", "-"],
        &[],
        "a-token-that-was-never-revoked",
    );
    let err = failed(&o, 2);
    assert!(err.contains("302"), "{err}");
}

#[test]
fn a_closed_stdout_is_a_quiet_exit() {
    let dir = Scratch::new("cli-pipe");
    let key = dir.path("k.json");
    let o = line_token(
        &[
            "keygen",
            "--private",
            key.to_str().unwrap(),
            "--public",
            dir.path("p.json").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    let mut child = command(&["public-jwk", "--key", key.to_str().unwrap()], &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before anything is written
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.code().is_some(),
        "not killed by a signal or a panic"
    );
    assert!(o.stderr.is_empty(), "quiet: {}", stderr(&o));
}
