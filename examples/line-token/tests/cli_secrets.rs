//! Secrets never leave `line-token`, whatever a server sends back, and come in through files,
//! stdin and the environment rather than argv. Server text reaches the terminal escaped.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::cli::*;
use common::*;

/// The secret-looking parts of a key file: its PEM body lines or private JWK members.
fn key_parts(text: &str) -> Vec<String> {
    let mut parts: Vec<String> = text
        .lines()
        .filter(|l| l.len() >= 16 && !l.contains("-----"))
        .map(|l| l[..16].to_owned())
        .collect();
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(text) {
        for k in ["d", "p", "q"] {
            parts.push(m[k].as_str().unwrap()[..16].to_owned());
        }
    }
    parts
}

#[test]
fn the_channel_secret_and_a_signing_key_together_are_a_usage_error() {
    // Before, the key won silently and the run went on: here, to a dead LINE or store, exit 3.
    let line = dead_base();
    let dir = Scratch::new("cli-secret-and-key");
    let cache = dir.path("token.json");
    let dead_store = DeadPort::new();
    let store = format!("redis://{}:{}/0", DeadPort::HOST, dead_store.port);
    let env = [
        ("LINE_API_BASE", &*line),
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_PRIVATE_KEY", PYJWT_DOCS_KEY),
    ];
    for args in [
        &["issue-stateless", "--channel-secret", SECRET, "--kid", "k"][..],
        &[
            "token",
            "--cache",
            cache.to_str().unwrap(),
            "--channel-secret",
            SECRET,
            "--kid",
            "k",
        ][..],
        &[
            "token",
            "--store",
            &store,
            "--channel-secret",
            SECRET,
            "--kid",
            "k",
        ][..],
    ] {
        let err = failed(&line_token(args, &env), 2);
        assert!(err.contains("not both"), "{args:?}: {err}");
    }
    assert!(!cache.exists(), "refused before any file is touched");
}

#[test]
fn secrets_come_from_files_stdin_and_the_environment() {
    let (server, dir, kid) = setup("cli-secret-files");
    let base = [
        ("LINE_API_BASE", server.base.as_str()),
        ("LINE_CHANNEL_ID", CHANNEL),
    ];
    let secret_file = dir.write("secret.txt", format!("{SECRET}\n"));
    let secret_path = secret_file.to_str().unwrap();

    let t = ok_json(&line_token(
        &["issue-short-lived", "--channel-secret-file", secret_path],
        &base,
    ));
    let token = t["access_token"].as_str().unwrap().to_owned();
    let t2 = ok_json(&line_token_stdin(
        &["issue-short-lived", "--channel-secret-file", "-"],
        &base,
        &format!("{SECRET}\r\n"),
    ));
    let mut env = base.to_vec();
    env.push(("LINE_CHANNEL_SECRET_FILE", secret_path));
    ok_json(&line_token(&["issue-stateless"], &env));

    // The token from a file and from stdin.
    let token_file = dir.write("token.txt", &token);
    let v = ok_json(&line_token(
        &["verify", "--token-file", token_file.to_str().unwrap()],
        &base,
    ));
    assert_eq!(v["client_id"], CHANNEL);
    let t2 = t2["access_token"].as_str().unwrap();
    assert_eq!(
        ok_json(&line_token_stdin(
            &["revoke", "--token-file", "-"],
            &base,
            t2
        )),
        serde_json::json!({})
    );
    // Only one option may read stdin.
    failed(
        &line_token_stdin(
            &[
                "revoke-v2.1",
                "--channel-secret-file",
                "-",
                "--token-file",
                "-",
            ],
            &base,
            "x",
        ),
        2,
    );
    // An empty secret file is an error, not an empty secret.
    let empty = dir.write("empty.txt", "\n");
    failed(
        &line_token(
            &[
                "issue-short-lived",
                "--channel-secret-file",
                empty.to_str().unwrap(),
            ],
            &base,
        ),
        2,
    );

    // $LINE_PRIVATE_KEY holds the key itself, as a JWK or as PEM.
    let jwk = dir.read("private.json");
    let mut env = base.to_vec();
    env.push(("LINE_KEY_ID", kid.as_str()));
    env.push(("LINE_PRIVATE_KEY", jwk.as_str()));
    let v21 = ok_json(&line_token(&["issue-v2.1", "--token-exp", "3600"], &env));
    assert_eq!(v21["expires_in"], 3600);
    let pem = std::fs::read_to_string(pem_of(&dir, &jwk)).unwrap();
    env.pop();
    env.push(("LINE_PRIVATE_KEY", pem.as_str()));
    ok_json(&line_token(&["key-ids"], &env));
    // And --key - reads it from stdin.
    let o = line_token_stdin(
        &["issue-stateless", "--kid", &kid, "--key", "-"],
        &base,
        &jwk,
    );
    ok_json(&o);
}

/// The PEM form of a private JWK, written by the CLI's own library into the scratch dir.
fn pem_of(dir: &Scratch, jwk: &str) -> std::path::PathBuf {
    let key = line_channel_token::SigningKey::parse(jwk).unwrap();
    dir.write("private.pem", key.to_pkcs8_pem().unwrap())
}

#[test]
fn key_contents_and_token_like_arguments_are_never_echoed() {
    let dir = Scratch::new("cli-no-echo");
    let o = line_token(
        &[
            "keygen",
            "--private",
            dir.path("k.json").to_str().unwrap(),
            "--public",
            dir.path("p.json").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    let jwk = dir.read("k.json");
    let pem = std::fs::read_to_string(pem_of(&dir, &jwk)).unwrap();
    for key in [&jwk, &pem] {
        for command in ["public-jwk", "assertion"] {
            let args = [command, "--channel-id", CHANNEL, "--kid", "k", "--key", key];
            let args = if command == "public-jwk" {
                &[command, "--key", key.as_str()][..]
            } else {
                &args[..]
            };
            let err = failed(&line_token(args, &[]), 2);
            assert!(err.contains("looks like the key itself"), "{err}");
            for part in key_parts(key) {
                assert!(!err.contains(&part), "{part} echoed: {err}");
            }
        }
    }
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2VjcmV0LXRva2Vu";
    for args in [
        &["verify", token][..],
        &[token][..],
        &["verify", "--tokn", token][..],
        &["verify", &format!("--tokn={token}")][..],
        &["verify", &format!("--{token}")][..],
        &["token", "--type", token][..],
        &["issue-short-lived", "--channel-secret-file", token][..],
        // A token inside a longer argument: pasted with its header or its JSON.
        &["verify", &format!("Bearer {token}")][..],
        &["verify", &format!("\"access_token\": \"{token}\",")][..],
        &[format!("Authorization: Bearer {token}").as_str()][..],
        &["help", &format!("Bearer {token}")][..],
        &["token", "--type", &format!("Bearer {token}")][..],
    ] {
        let err = failed(&line_token(args, &[("LINE_CHANNEL_ID", CHANNEL)]), 2);
        assert!(
            !err.contains("c2VjcmV0LXRva2Vu"),
            "{args:?} echoed the token: {err}"
        );
    }
}

/// Runs `args` against an echoing proxy; the run fails with `code`, its one stderr line shows
/// the echo (so the test could fail) and holds none of `secrets`.
fn through_echoing_proxy(args: &[&str], env: &[(&str, &str)], code: i32, secrets: &[&str]) {
    let proxy = FakeLine::echoing_proxy();
    let mut env = env.to_vec();
    env.push(("LINE_API_BASE", proxy.base.as_str()));
    let err = failed(&line_token(args, &env), code);
    assert!(
        err.contains("502") && err.contains("[redacted]"),
        "{args:?}: {err}"
    );
    for s in secrets {
        assert!(!err.contains(s), "{args:?} leaked {s}: {err}");
    }
}

#[test]
fn an_echoing_proxy_cannot_make_the_cli_print_or_store_a_secret() {
    let dir = Scratch::new("cli-echo");
    let o = line_token(
        &[
            "keygen",
            "--private",
            dir.path("k.json").to_str().unwrap(),
            "--public",
            dir.path("p.json").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    let key = dir.path("k.json");
    let key = key.to_str().unwrap();
    let env = [
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_CHANNEL_SECRET", SECRET),
    ];
    // A secret with characters that form-encoding changes: it comes back encoded.
    let odd = "s3cr3t+with/odd=chars&more";
    through_echoing_proxy(
        &["issue-short-lived", "--channel-secret", odd],
        &[("LINE_CHANNEL_ID", CHANNEL)],
        3,
        &[odd, "s3cr3t%2Bwith", "s3cr3t+with"],
    );
    through_echoing_proxy(&["issue-stateless"], &env, 3, &[SECRET]);
    let token = "W1TeHCgfH2Liwa.Long-lived-token-value-0123456789";
    through_echoing_proxy(
        &["verify", "--token", token],
        &env,
        3,
        &[token, "W1TeHCgfH2Li"],
    );
    through_echoing_proxy(
        &["revoke-v2.1", "--token", token],
        &env,
        3,
        &[SECRET, token],
    );
    // The assertion (a JWT) is built inside the CLI; it is scrubbed all the same.
    let jwt = [
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_KEY_ID", "kid-1"),
        ("LINE_PRIVATE_KEY_FILE", key),
    ];
    through_echoing_proxy(&["issue-v2.1"], &jwt, 3, &["eyJ"]);
    through_echoing_proxy(&["key-ids"], &jwt, 3, &["eyJ"]);

    // A secret cut in half by the error excerpt's length limit is still scrubbed.
    for pad in 200..=260 {
        let proxy = FakeLine::start(move |request| {
            let body = request.split_once("\r\n\r\n").map_or("", |(_, b)| b);
            (502, format!("{}{body}", "x".repeat(pad)))
        });
        let env = [
            ("LINE_API_BASE", proxy.base.as_str()),
            ("LINE_CHANNEL_ID", CHANNEL),
            ("LINE_CHANNEL_SECRET", SECRET),
        ];
        let err = failed(&line_token(&["issue-short-lived"], &env), 3);
        assert!(!err.contains(&SECRET[..8]), "pad {pad}: {err}");
    }

    // The cache file's record of the failure holds no secret either.
    let proxy = FakeLine::echoing_proxy();
    let cache = dir.path("cache/t.json");
    let mut env = env.to_vec();
    env.push(("LINE_API_BASE", proxy.base.as_str()));
    failed(
        &line_token(&["token", "--cache", cache.to_str().unwrap()], &env),
        3,
    );
    let text = std::fs::read_to_string(&cache).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
    let message = saved["last_failure"]["message"].as_str().unwrap();
    assert!(
        message.contains("502") && message.contains("[redacted]"),
        "{message}"
    );
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn server_text_reaches_the_terminal_escaped_on_one_line() {
    let hostile = r#"{"error":"invalid_client","error_description":"\u001b[2J\u001b[31mboom\r\nline-token: OK\u0007\u202e"}"#;
    let server = FakeLine::start(move |_| (400, hostile.to_owned()));
    let env = [
        ("LINE_API_BASE", server.base.as_str()),
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_CHANNEL_SECRET", SECRET),
    ];
    let o = line_token(&["issue-short-lived"], &env);
    let err = failed(&o, 1);
    assert!(
        !err.trim_end()
            .chars()
            .any(|c| c.is_control() || c == '\u{202e}'),
        "raw control characters: {err:?}"
    );
    assert!(err.contains("\\u{1b}[31mboom\\r\\nline-token: OK"), "{err}");
    // A huge description is capped.
    let long = format!(
        r#"{{"error":"invalid_client","error_description":"{}"}}"#,
        "A".repeat(100_000)
    );
    let server = FakeLine::start(move |_| (400, long.clone()));
    let env = [
        ("LINE_API_BASE", server.base.as_str()),
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_CHANNEL_SECRET", SECRET),
    ];
    let err = failed(&line_token(&["issue-short-lived"], &env), 1);
    assert!(
        err.len() < 3000 && err.contains("(truncated)"),
        "{} bytes",
        err.len()
    );
}

#[test]
fn server_text_in_json_on_stdout_has_no_character_a_terminal_acts_on() {
    // serde_json escapes U+0000..U+001F itself; DEL, C1 controls (U+009B is CSI) and bidi
    // overrides it writes raw.
    let hostile =
        r#"{"access_token":"a\u009b2Jb\u007fc\u202ed","expires_in":900,"token_type":"Bearer"}"#;
    let server = FakeLine::start(move |_| (200, hostile.to_owned()));
    let env = [
        ("LINE_API_BASE", server.base.as_str()),
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_CHANNEL_SECRET", SECRET),
    ];
    let out = ok_json(&line_token(&["issue-short-lived"], &env));
    assert_eq!(
        out["access_token"], "a\u{9b}2Jb\u{7f}c\u{202e}d",
        "the value is kept"
    );
    let o = line_token(&["issue-short-lived"], &env);
    let text = stdout(&o);
    assert!(
        !text
            .chars()
            .any(|c| c != '\n' && (c.is_control() || c == '\u{202e}')),
        "raw on stdout: {text:?}"
    );
}

#[test]
fn a_damaged_cache_file_cannot_make_a_warning_quote_its_token() {
    let dir = Scratch::new("cli-damaged-cache");
    let old = "eyJvbGQtdG9rZW4ifQ.b2xkLXRva2VuLXBheWxvYWQ.c2lnbmF0dXJl";
    // serde quotes a string found where a number belongs.
    let damaged = serde_json::json!({
        "format": "line-channel-token/cache/v2", "channel_id": CHANNEL,
        "token_type": "stateless", "failures": old, "next_ticket": 1
    });
    let cache = dir.write("t.json", damaged.to_string());
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o600)).unwrap();
    let fresh =
        r#"{"access_token":"fresh-token-0123456789","expires_in":900,"token_type":"Bearer"}"#;
    let server = FakeLine::start(move |_| (200, fresh.to_owned()));
    let env = [
        ("LINE_API_BASE", server.base.as_str()),
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_CHANNEL_SECRET", SECRET),
    ];
    let o = line_token(&["token", "--cache", cache.to_str().unwrap()], &env);
    assert_eq!(
        stdout(&o).trim(),
        "fresh-token-0123456789",
        "{}",
        stderr(&o)
    );
    let warning = stderr(&o);
    assert!(warning.contains("not a usable"), "{warning}");
    assert!(!warning.contains("c2lnbmF0dXJl"), "{warning}");
}

#[test]
fn a_token_with_a_terminal_escape_is_never_printed_raw() {
    let dir = Scratch::new("cli-hostile-token");
    let hostile =
        r#"{"access_token":"tok\u001b]0;pwned\u0007en","expires_in":900,"token_type":"Bearer"}"#;
    let server = FakeLine::start(move |_| (200, hostile.to_owned()));
    let env = [
        ("LINE_API_BASE", server.base.as_str()),
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_CHANNEL_SECRET", SECRET),
    ];
    let cache = dir.path("t.json");
    let err = failed(
        &line_token(&["token", "--cache", cache.to_str().unwrap()], &env),
        2,
    );
    assert!(!err.contains('\u{1b}'), "{err:?}");
    // The JSON commands escape it, as JSON does.
    let o = line_token(&["issue-stateless"], &env);
    assert_eq!(o.status.code(), Some(0));
    assert!(!stdout(&o).contains('\u{1b}') && stdout(&o).contains("\\u001b"));
}

/// A proxy's 502 page that shows the channel secret in groups of four, in pieces split by
/// dashes and newlines, as a hex dump and in base64 (the second hostile review's attack): no
/// piece of it reaches the terminal or the cache file.
#[test]
fn a_secret_echoed_in_groups_or_encoded_is_not_printed_or_stored() {
    let hex: String = SECRET.bytes().map(|b| format!("{b:02x}")).collect();
    let groups = |s: &str, n: usize, sep: &str| {
        let chunks: Vec<String> = s
            .as_bytes()
            .chunks(n)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        chunks.join(sep)
    };
    let b64 = "Y2xpLXMzY3JldC0wMTIzNDU2Nzg5YWJjZGVm"; // base64 of SECRET
    let echoes = [
        groups(SECRET, 4, " "),
        groups(SECRET, 4, "-"),
        groups(SECRET, 8, "\n"),
        groups(&hex, 2, " "),
        groups(&hex.to_uppercase(), 4, " "),
        groups(&hex, 16, "\n"),
        b64.to_owned(),
    ];
    let dir = Scratch::new("cli-echo-groups");
    for echo in echoes {
        let page = format!("<html><pre>you sent:\n{echo}\n</pre></html>");
        let proxy = FakeLine::start(move |_| (502, page.clone()));
        let env = [
            ("LINE_API_BASE", proxy.base.as_str()),
            ("LINE_CHANNEL_ID", CHANNEL),
            ("LINE_CHANNEL_SECRET", SECRET),
        ];
        let cache = dir.path("groups.json");
        let _ = std::fs::remove_file(&cache);
        for args in [
            vec!["issue-stateless"],
            vec!["token", "--cache", cache.to_str().unwrap()],
        ] {
            let err = failed(&line_token(&args, &env), 3);
            let stored = std::fs::read_to_string(&cache).unwrap_or_default();
            // The first 12 characters of the echo, as the terminal shows them (a newline
            // escaped) and as the cache file's JSON stores them.
            let head: String = echo.chars().take(12).collect();
            for shown in [head.replace('\n', "\\n"), head.clone()] {
                assert!(!err.contains(&shown), "{args:?} printed {echo:?}: {err}");
                assert!(
                    !stored.contains(&shown),
                    "{args:?} stored {echo:?}: {stored}"
                );
            }
            assert!(err.contains("502"), "{err}");
        }
    }
}
