//! `TokenCache`'s fields change only in `src/lifecycle/cache/transitions.rs`, where each
//! change states the invariant it keeps. This reads the cache's sources and fails on a field
//! assigned, mutably borrowed or changed through a mutating method anywhere else.

use std::path::{Path, PathBuf};

const CACHE: &str = "src/lifecycle/cache";
const HOME: &str = "transitions.rs";

/// Methods that change what they are called on, for the fields whose type has them.
const MUTATING: &[&str] = &[
    "push",
    "push_back",
    "pop",
    "pop_front",
    "take",
    "replace",
    "remove",
    "insert",
    "clear",
    "truncate",
    "drain",
    "retain",
    "extend",
    "append",
    "get_or_insert",
    "get_or_insert_with",
    "as_mut",
    "iter_mut",
    "zeroize",
    "forget_assertion",
    "request",
];

const ASSIGN: &[&str] = &[
    "=", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "<<=", ">>=",
];

/// The field names of `pub struct TokenCache`, read from the module's source.
fn fields() -> Vec<String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(CACHE)
            .join("mod.rs"),
    )
    .unwrap();
    let body = text
        .split_once("pub struct TokenCache {")
        .expect("TokenCache is declared in cache/mod.rs")
        .1;
    let body = body.split_once("\n}").unwrap().0;
    body.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//"))
        .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim().to_owned()))
        .filter(|name| !name.is_empty())
        .collect()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `rest` (what follows a field access) changes the field.
fn writes(before: &str, rest: &str) -> bool {
    if before.trim_end().ends_with("&mut") {
        return true;
    }
    let rest = rest.trim_start();
    if ASSIGN.iter().any(|op| rest.starts_with(op))
        && !rest.starts_with("==")
        && !rest.starts_with("=>")
    {
        return true;
    }
    rest.strip_prefix('.').is_some_and(|call| {
        let name: String = call.chars().take_while(|c| is_ident(*c)).collect();
        call[name.len()..].starts_with('(') && MUTATING.contains(&name.as_str())
    })
}

/// Every line of `text` that changes a field of `TokenCache`: through `self` inside an
/// `impl` of `TokenCache`, or through any other binding anywhere.
fn violations(file: &str, text: &str, fields: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut in_cache_impl) = (0usize, false);
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap();
        if depth == 0 && line.starts_with("impl") {
            let header = line.trim_end_matches('{').trim();
            in_cache_impl = header.ends_with(" TokenCache") || header.ends_with("for TokenCache");
        }
        for field in fields {
            let needle = format!(".{field}");
            for (at, _) in line.match_indices(&needle) {
                let after = &line[at + needle.len()..];
                if after.starts_with(is_ident) {
                    continue;
                }
                let receiver: String = line[..at]
                    .chars()
                    .rev()
                    .take_while(|c| is_ident(*c))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                if receiver.is_empty() || (receiver == "self" && !in_cache_impl) {
                    continue;
                }
                let before = &line[..at - receiver.len()];
                if writes(before, after) {
                    out.push(format!("{file}:{}: {}", n + 1, raw.trim()));
                }
            }
        }
        depth += line.matches('{').count();
        depth = depth.saturating_sub(line.matches('}').count());
    }
    out
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}

#[test]
fn token_cache_fields_change_only_in_transitions() {
    let fields = fields();
    assert!(fields.len() >= 15, "read too few fields: {fields:?}");
    for expected in ["token", "in_flight", "retry_at", "generation", "surplus"] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} not in {fields:?}"
        );
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(CACHE);
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    files.sort();
    assert!(files.iter().any(|f| f.ends_with(HOME)), "no {HOME}");
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with(HOME)) {
        let text = std::fs::read_to_string(file).unwrap();
        found.extend(violations(&file.display().to_string(), &text, &fields));
    }
    assert!(
        found.is_empty(),
        "TokenCache's fields change outside {CACHE}/{HOME}; add or use a transition there:\n{}",
        found.join("\n")
    );
}

/// The check above finds each kind of write, and leaves reads and other types alone.
#[test]
fn the_check_catches_writes_and_spares_reads() {
    let fields: Vec<String> = [
        "token",
        "in_flight",
        "failures",
        "events",
        "config",
        "credentials",
    ]
    .map(String::from)
    .to_vec();
    let bad = "impl TokenCache {
    fn f(&mut self) {
        self.in_flight = None;
        self.failures += 1;
        self.events.push(e);
        let t = self.token.take();
        std::mem::take(&mut self.token);
        self.credentials.forget_assertion();
        cache.failures = 0;
    }
}
";
    assert_eq!(
        violations("bad.rs", bad, &fields).len(),
        7,
        "{:?}",
        violations("bad.rs", bad, &fields)
    );
    let good = "impl TokenCacheBuilder {
    fn config(mut self, config: CacheConfig) -> Self {
        self.config = Some(config); // the builder's own field
        self
    }
}
impl TokenCache {
    fn g(&self) -> bool {
        // self.token = None; in a comment
        let _ = self.token.as_ref();
        match self.last {
            Some(t) if !self.in_flight => t,
            _ => self.failures == 0 && self.in_flight.is_none() && self.tokens_left() > 0,
        }
    }
}
";
    assert_eq!(violations("good.rs", good, &fields), Vec::<String>::new());
}

/// One abandon-on-drop guard: the only call of `abandon` is in `Sending`'s `Drop`
/// (src/lifecycle/cache/driver.rs), which every driver, `SharedCache` and `SharedPool` use.
#[test]
fn one_guard_abandons_a_dropped_refresh() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut calls = Vec::new();
    let mut drops = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(&src).unwrap().display().to_string();
        let mut last_impl = String::new();
        for line in text.lines() {
            let line = line.split("//").next().unwrap();
            if line.starts_with("impl") {
                last_impl = line.trim().to_owned();
            }
            if line.contains(".abandon(") {
                calls.push(format!("{name}: {last_impl}"));
            }
            if line.starts_with("impl") && line.contains("Drop for Sending") {
                drops.push(name.clone());
            }
        }
    }
    assert_eq!(
        calls,
        ["lifecycle/cache/driver.rs: impl<S: Settle> Drop for Sending<S> {"],
        "a refresh is abandoned from more than one place"
    );
    assert_eq!(drops, ["lifecycle/cache/driver.rs"]);
}
