//! Real deployments connect: `rediss://` (TLS, with an `openssl`-made CA given by
//! `--store-ca` or `SSL_CERT_FILE`), Unix sockets, and ACL users, each against a real
//! `redis-server` on 127.0.0.1 or a socket in a scratch directory.

mod common;

use std::process::{Command, Output, Stdio};

use common::redis_server::{free_port, RedisServer};
use common::{EmulatorProcess, Scratch, LINE_TOKEN};

const CHANNEL: &str = "1234567890";
const SECRET: &str = "connect-s3cret";

/// One `line-token token --store URL` run, with `env` added to a clean environment.
fn run(
    dir: &Scratch,
    line: &EmulatorProcess,
    url: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(LINE_TOKEN);
    cmd.env_clear()
        .env("HOME", dir.path("."))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(["--api-base", &line.base, "token", "--channel-id", CHANNEL])
        .arg("--channel-secret-file")
        .arg(dir.path("secret"))
        .args(["--store", url])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(o: &Output) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "stderr: {stderr}");
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

fn openssl(dir: &Scratch, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(&dir.0)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made with the openssl CLI.
fn make_ca_and_server_cert(dir: &Scratch) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=fleet test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    dir.write(
        "ext.cnf",
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn setup(name: &str) -> (Scratch, EmulatorProcess) {
    let dir = Scratch::new(name);
    dir.write("secret", SECRET);
    let line = EmulatorProcess::start(&["--channel", &format!("{CHANNEL}:{SECRET}")]);
    (dir, line)
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn rediss_with_a_private_ca_from_an_option_or_ssl_cert_file() {
    let (dir, line) = setup("connect-tls");
    make_ca_and_server_cert(&dir);
    let tls_port = free_port();
    let p = |f: &str| dir.path(f).to_string_lossy().into_owned();
    let _redis = RedisServer::start_with(vec![
        "--tls-port".into(),
        tls_port.to_string(),
        "--tls-cert-file".into(),
        p("server.pem"),
        "--tls-key-file".into(),
        p("server.key"),
        "--tls-ca-cert-file".into(),
        p("ca.pem"),
        "--tls-auth-clients".into(),
        "no".into(),
    ]);
    let url = format!("rediss://127.0.0.1:{tls_port}/0");
    let ca = p("ca.pem");
    let first = ok(&run(&dir, &line, &url, &["--store-ca", &ca], &[]));
    let second = ok(&run(&dir, &line, &url, &[], &[("SSL_CERT_FILE", &ca)]));
    assert_eq!(first, second, "one record over TLS");
    // Not trusting the CA: no connection, and no token.
    let untrusted = run(
        &dir,
        &line,
        &url,
        &[],
        &[("SSL_CERT_FILE", &p("server.csr"))],
    );
    assert_ne!(untrusted.status.code(), Some(0));
    let refused = run(
        &dir,
        &line,
        &format!("redis://127.0.0.1:{tls_port}/0"),
        &["--store-ca", &ca],
        &[],
    );
    assert_eq!(
        refused.status.code(),
        Some(2),
        "a CA file for plain redis:// is a usage error"
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn unix_sockets_and_acl_users_connect() {
    let (dir, line) = setup("connect-unix");
    let socket = dir.path("redis.sock").to_string_lossy().into_owned();
    let redis = RedisServer::start_with(vec![
        "--unixsocket".into(),
        socket.clone(),
        "--unixsocketperm".into(),
        "700".into(),
    ]);
    let by_socket = ok(&run(
        &dir,
        &line,
        &format!("redis+unix://{socket}"),
        &[],
        &[],
    ));
    let by_unix = ok(&run(
        &dir,
        &line,
        &format!("unix://{socket}?db=0"),
        &[],
        &[],
    ));
    assert_eq!(by_socket, by_unix);

    let mut conn = redis.connection();
    let () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("fleet")
        .arg("on")
        .arg(">fleet-pw")
        .arg("~line-token:*")
        .arg("+@all")
        .query(&mut conn)
        .unwrap();
    let as_user = format!("redis://fleet:fleet-pw@127.0.0.1:{}/0", redis.port);
    assert_eq!(ok(&run(&dir, &line, &as_user, &[], &[])), by_socket);
    let wrong = format!("redis://fleet:nope@127.0.0.1:{}/0", redis.port);
    let refused = run(&dir, &line, &wrong, &[], &[]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "a wrong password is not worth retrying"
    );
    assert!(!String::from_utf8_lossy(&refused.stderr).contains("nope"));
}
