//! The `line-token` command line contract, against `line-emulator` on 127.0.0.1.

mod common;

use std::process::{Command, Output};

use common::*;

const CHANNEL: &str = "1234567890";
const SECRET: &str = "cli-s3cret";

fn line_token(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(example_bin("line-token"));
    cmd.args(args);
    for var in [
        "LINE_API_BASE",
        "LINE_CHANNEL_ID",
        "LINE_CHANNEL_SECRET",
        "LINE_CHANNEL_ACCESS_TOKEN",
        "LINE_KEY_ID",
        "LINE_PRIVATE_KEY_FILE",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok_json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// An emulator with the channel and a fresh key registered; returns (server, key dir, kid).
fn setup(name: &str) -> (EmulatorProcess, Scratch, String) {
    let dir = Scratch::new(name);
    let o = line_token(
        &[
            "keygen",
            "--private",
            dir.path("private.json").to_str().unwrap(),
            "--public",
            dir.path("public.json").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let channel = format!("{CHANNEL}:{SECRET}");
    let server = EmulatorProcess::start(&[
        "--channel",
        &channel,
        "--public-key",
        dir.path("public.json").to_str().unwrap(),
    ]);
    let kid = server.lines[0]["kid"].as_str().unwrap().to_owned();
    (server, dir, kid)
}

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
    ] {
        assert!(stdout(&o).contains(cmd), "--help lacks {cmd}");
    }
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
            "assertion",
            "--channel-id",
            "1",
            "--kid",
            "k",
            "--key",
            "/nonexistent",
        ][..],
    ] {
        let o = line_token(args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(!stderr(&o).trim().is_empty());
    }
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
    let decoded = line_channel_token::Jwt::verify_rs256(&jwt, &key).unwrap();
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
        let o = line_token(&args, &[]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(o.stdout.is_empty());
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

    // Unreachable server: exit 2.
    drop(server);
    let o = line_token(
        &["issue-short-lived"],
        &[
            ("LINE_API_BASE", base),
            ("LINE_CHANNEL_ID", CHANNEL),
            ("LINE_CHANNEL_SECRET", SECRET),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("could not reach"), "{}", stderr(&o));
}

#[test]
fn token_command_caches_in_a_private_atomic_file() {
    let (server, dir, kid) = setup("cli-token");
    let base = server.base.clone();
    let cache = dir.path("state/dir/token.json");
    let cache_s = cache.to_str().unwrap().to_owned();
    let env = [
        ("LINE_API_BASE", base.as_str()),
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_CHANNEL_SECRET", SECRET),
    ];
    let token = |extra: &[&str]| {
        let mut args = vec!["token", "--cache", cache_s.as_str()];
        args.extend_from_slice(extra);
        let o = line_token(&args, &env);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o).trim().to_owned()
    };
    let first = token(&[]);
    assert!(!first.is_empty() && !first.contains(' '));
    assert_eq!(token(&[]), first, "reused while outside the refresh window");
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(
        !text.contains(SECRET),
        "no channel secret in the cache file"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Time passes (the saved expiry moves to 2 minutes from now): inside the 5-minute refresh
    // window, so a new token is issued and saved.
    let mut saved: serde_json::Value = serde_json::from_str(&text).unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    saved["state"]["token"]["issued_at"] = (now_ms - 780_000).into();
    saved["state"]["token"]["expires_at"] = (now_ms + 120_000).into();
    saved["state"]["last_refresh_at"] = (now_ms - 780_000).into(); // the issuance throttle's mark
    std::fs::write(&cache, saved.to_string()).unwrap();
    let renewed = token(&[]);
    assert_ne!(renewed, first);
    assert_eq!(token(&[]), renewed);
    // A refresh window as long as the token is refused.
    let o = line_token(
        &["token", "--cache", &cache_s, "--refresh-before", "900"],
        &env,
    );
    assert_eq!(o.status.code(), Some(2));
    // Another type is a different cache entry: the file is replaced, not mixed up.
    let short = token(&["--type", "short-lived"]);
    assert_ne!(short, renewed);
    // A corrupt file is replaced, not fatal.
    std::fs::write(&cache, b"{ not json").unwrap();
    let after_corrupt = token(&[]);
    assert!(!after_corrupt.is_empty());
    // v2.1 with a key: no key material in the file either.
    let key = dir.path("private.json");
    let v21 = token(&[
        "--type",
        "v2.1",
        "--kid",
        &kid,
        "--key",
        key.to_str().unwrap(),
        "--token-exp",
        "86400",
    ]);
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(text.contains("v2.1") && text.contains(&v21));
    let d = serde_json::from_str::<serde_json::Value>(&dir.read("private.json")).unwrap()["d"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!text.contains(&d[..20]));
    // LINE unreachable, cached token valid: printed, exit 0.
    drop(server);
    let o = line_token(
        &[
            "token",
            "--cache",
            &cache_s,
            "--type",
            "v2.1",
            "--kid",
            &kid,
            "--key",
            key.to_str().unwrap(),
            "--token-exp",
            "86400",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), v21);
    // Unreachable and nothing cached: exit 2.
    let o = line_token(
        &["token", "--cache", dir.path("empty.json").to_str().unwrap()],
        &env,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

#[test]
fn concurrent_processes_sharing_a_cache_issue_one_token() {
    let (server, dir, _) = setup("cli-concurrent");
    let cache = dir.path("shared.json");
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(example_bin("line-token"))
                .args([
                    "--api-base",
                    &server.base,
                    "token",
                    "--channel-id",
                    CHANNEL,
                    "--channel-secret",
                    SECRET,
                    "--cache",
                    cache.to_str().unwrap(),
                ])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let tokens: Vec<String> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success());
            stdout(&o).trim().to_owned()
        })
        .collect();
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every process printed the same token: {tokens:?}"
    );
}
