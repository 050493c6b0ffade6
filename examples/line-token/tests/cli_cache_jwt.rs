//! `token --cache` with a signing key: a warm hit answers from the file without parsing the
//! key (parsing proves it sound with a signature, milliseconds); a refresh parses it.

mod common;

use common::cli::*;

#[test]
fn a_warm_hit_does_not_parse_the_key_and_a_refresh_does() {
    let (server, dir, kid) = setup("cli-jwt-warm");
    let cache = dir.path("t.json");
    let key = dir.path("private.json");
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "token".to_owned(),
            "--cache".to_owned(),
            cache.to_str().unwrap().to_owned(),
            "--kid".to_owned(),
            kid.clone(),
            "--key".to_owned(),
            key.to_str().unwrap().to_owned(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let env = [
        ("LINE_API_BASE", server.base.as_str()),
        ("LINE_CHANNEL_ID", CHANNEL),
    ];
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        line_token(&a, &env)
    };
    let first = run(args(&[]));
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let token = stdout(&first);

    // The key file now holds a key that does not parse: a warm hit never notices.
    std::fs::write(&key, "{\"kty\": \"RSA\"}").unwrap();
    let hit = run(args(&[]));
    assert_eq!(hit.status.code(), Some(0), "{}", stderr(&hit));
    assert_eq!(stdout(&hit), token, "the cached token");

    // A refresh needs the key, and says what is wrong with it.
    let err = failed(&run(args(&["--force-refresh"])), 2);
    assert!(err.contains("private.json"), "{err}");
}
