//! Finds the tools the independent checks among this package's tests need: `redis-server`
//! and `faketime` (the fleet tests), Python with PyJWT, jwcrypto and LINE's `line-bot-sdk`
//! (the interop tests), and root (the tests that give files to another user). Each one
//! missing sets a cfg, and the tests that need it carry `#[cfg_attr(CFG, ignore = "needs
//! ...")]`: `cargo test` then lists them as `ignored, needs ...` and counts them in its
//! summary, where a test that returned early used to pass. With `CI` set, nothing but root
//! is looked for: every check runs, and a missing tool fails it. The programs do not use
//! these cfgs.

use std::path::{Path, PathBuf};
use std::process::Command;

const CFGS: &[&str] = &[
    "no_redis_server",
    "no_faketime",
    "no_pyjwt",
    "no_jwcrypto",
    "no_line_bot_sdk",
    "not_root",
];

fn main() {
    println!("cargo::rustc-check-cfg=cfg({})", CFGS.join(", "));
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=PATH");
    if !is_root() {
        println!("cargo::rustc-cfg=not_root");
    }
    if std::env::var_os("CI").is_some() {
        return;
    }
    let mut missing = false;
    match on_path("redis-server") {
        Some(path) => println!("cargo::rerun-if-changed={}", path.display()),
        None => {
            println!("cargo::rustc-cfg=no_redis_server");
            missing = true;
        }
    }
    match on_path("faketime") {
        Some(path) => println!("cargo::rerun-if-changed={}", path.display()),
        None => {
            println!("cargo::rustc-cfg=no_faketime");
            missing = true;
        }
    }
    for (cfg, modules) in [
        ("no_pyjwt", "jwt, cryptography"),
        ("no_jwcrypto", "jwcrypto"),
        ("no_line_bot_sdk", "linebot.v3.oauth, jwt, cryptography"),
    ] {
        if !python_has(modules) {
            println!("cargo::rustc-cfg={cfg}");
            missing = true;
        }
    }
    // Look again once something is installed: pip writes into site-packages, a package
    // manager into a directory on PATH.
    for dir in python_dirs() {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    if missing {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            if dir.is_dir() {
                println!("cargo::rerun-if-changed={}", dir.display());
            }
        }
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn python_has(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Where Python looks for packages (site-packages, user site), as far as it exists.
fn python_dirs() -> Vec<PathBuf> {
    let script = "import site, sys; print('\\n'.join(site.getsitepackages() + [site.getusersitepackages()]))";
    let Ok(out) = Command::new("python3").args(["-c", script]).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    Path::new("/proc/self")
        .metadata()
        .is_ok_and(|m| m.uid() == 0)
}
