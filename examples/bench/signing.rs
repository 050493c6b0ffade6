//! Signing: ours against raw `rsa` and against OpenSSL, in interleaved rounds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use line_channel_token::*;

#[cfg(unix)]
mod openssl;
#[cfg(not(unix))]
mod openssl {
    /// The OpenSSL reference is loaded with `dlopen`: Unix only.
    pub(crate) struct OpenSsl;
    impl OpenSsl {
        pub(crate) fn load(_pem: &str) -> Result<OpenSsl, String> {
            Err("the OpenSSL reference is loaded with dlopen, on Unix only".into())
        }
        pub(crate) fn version(&self) -> String {
            String::new()
        }
        pub(crate) fn sign(&mut self, _input: &[u8]) -> &[u8] {
            &[]
        }
    }
}
use openssl::OpenSsl;

/// This thread's CPU time, in seconds: what the scheduler ran this thread, so time it spent
/// preempted by other jobs on the machine does not count (`CLOCK_THREAD_CPUTIME_ID`, read with
/// nanosecond resolution; NaN where there is no such clock).
fn thread_cpu() -> f64 {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec, which lives on this stack frame.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    f64::NAN
}

/// One call's cost, in seconds: wall clock and this thread's CPU time.
#[derive(Clone, Copy)]
pub(crate) struct Call {
    pub(crate) wall: f64,
    pub(crate) cpu: f64,
}

/// `a` and `b` called alternately, one call each in turn (order swapped every pair), for
/// about `budget`: both see the same load. Returns each one's per-call costs, so that the
/// median ignores calls the scheduler preempted.
pub(crate) fn paired(
    budget: Duration,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (Vec<Call>, Vec<Call>) {
    a();
    b();
    let start = Instant::now();
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    let mut flip = false;
    while start.elapsed() < budget {
        let time = |f: &mut dyn FnMut(), into: &mut Vec<Call>| {
            let (t, c) = (Instant::now(), thread_cpu());
            f();
            let cpu = thread_cpu() - c;
            into.push(Call {
                wall: t.elapsed().as_secs_f64(),
                cpu,
            });
        };
        if flip {
            time(&mut b, &mut tb);
            time(&mut a, &mut ta);
        } else {
            time(&mut a, &mut ta);
            time(&mut b, &mut tb);
        }
        flip = !flip;
    }
    (ta, tb)
}

fn walls(calls: &[Call]) -> Vec<f64> {
    calls.iter().map(|c| c.wall).collect()
}

fn cpus(calls: &[Call]) -> Vec<f64> {
    calls.iter().map(|c| c.cpu).collect()
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The CPU, and the instruction-set extensions that decide big-integer speed: OpenSSL's
/// hand-written assembly uses `adx`/`bmi2` (MULX/ADCX/ADOX carry chains) and, for RSA-2048 on
/// CPUs with `avx512ifma`, 52-bit-limb vector multiplication; `crypto-bigint` is portable Rust.
pub(crate) fn cpu_description() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .map(|v| v.trim().to_owned())
    };
    let model = field("model name").unwrap_or_else(|| "unknown CPU".to_owned());
    let flags = field("flags").unwrap_or_default();
    let wanted = ["adx", "bmi2", "avx2", "avx512f", "avx512ifma", "sha_ni"];
    let present: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| flags.split_whitespace().any(|f| f == *w))
        .collect();
    let absent: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !present.contains(w))
        .collect();
    format!(
        "{model}; has: {}; lacks: {}",
        present.join(" "),
        if absent.is_empty() {
            "-".to_owned()
        } else {
            absent.join(" ")
        }
    )
}

/// Signing, fairly: rounds that interleave (in alternating order) our signer with raw `rsa`
/// 0.10 on the same key, bytes and RNG (`OsRng`, so the same blinding), and with OpenSSL's
/// signer in this process on the same key and bytes (see [`openssl`]). Each ratio is taken
/// within a round, from the medians of its calls; the median over rounds is printed.
/// `sign_vs_openssl_cpu` compares per-thread CPU time, so another job that preempts one side
/// does not count against it. Returns OpenSSL's median wall-clock time per signature, if
/// libcrypto could be loaded.
pub(crate) fn signing(
    quick: bool,
    key: &SigningKey,
    builder: &AssertionBuilder,
    now: UnixTime,
) -> Option<f64> {
    use rsa::pkcs8::DecodePrivateKey;
    use sha2::Digest;

    let rounds = if quick { 3 } else { 9 };
    let budget = Duration::from_millis(if quick { 150 } else { 600 });
    let pem = key.to_pkcs8_pem().expect("exports");
    let raw = rsa::PrivateKey::from_pkcs8_pem(&pem).expect("rsa loads our PEM");
    let input = builder
        .sign(key, now, &mut OsRng)
        .expect("signs")
        .expose_secret()
        .rsplit_once('.')
        .map(|(signing_input, _)| signing_input.to_owned())
        .expect("a JWS");
    let ours = || {
        black_box(key.sign_rs256(input.as_bytes(), &mut OsRng).expect("signs"));
    };
    let theirs = || {
        let digest = sha2::Sha256::digest(input.as_bytes());
        black_box(
            raw.sign_with_rng(
                &mut OsRng,
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                &digest,
            )
            .expect("signs"),
        );
    };
    let signature = key.sign_rs256(input.as_bytes(), &mut OsRng).expect("signs");
    assert_eq!(
        signature,
        raw.sign_with_rng(
            &mut OsRng,
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(input.as_bytes())
        )
        .expect("signs"),
        "the same signature"
    );
    let mut ssl = OpenSsl::load(&pem);
    if let Ok(ssl) = &mut ssl {
        // PKCS#1 v1.5 is deterministic: the same bytes prove the same key and operation.
        assert_eq!(
            ssl.sign(input.as_bytes()),
            &signature[..],
            "OpenSSL's signature on the same key and bytes"
        );
    }
    let (mut t_ours, mut t_raw, mut t_assert) = (vec![], vec![], vec![]);
    let (mut overhead, mut cpu_ours, mut cpu_ssl, mut wall_ssl, mut vs_ssl) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let (a, b) = paired(budget, ours, theirs);
        let (a, b) = (median(walls(&a)), median(walls(&b)));
        t_ours.push(a);
        t_raw.push(b);
        overhead.push(a / b);
        // The whole assertion (claims, JSON, base64url, RS256), paired with the bare signature.
        let (full, _) = paired(
            budget / 2,
            || {
                black_box(builder.sign(key, now, &mut OsRng).expect("signs"));
            },
            ours,
        );
        t_assert.push(median(walls(&full)));
        if let Ok(ssl) = &mut ssl {
            let (a, b) = paired(budget, ours, || {
                black_box(ssl.sign(input.as_bytes()));
            });
            let (a, b) = (median(cpus(&a)), (median(cpus(&b)), median(walls(&b))));
            cpu_ours.push(a);
            cpu_ssl.push(b.0);
            wall_ssl.push(b.1);
            vs_ssl.push(a / b.0);
        }
    }
    let ms = |s: f64| format!("{:.3} ms", s * 1e3);
    println!("(medians of {rounds} rounds of interleaved calls, wall clock)");
    println!(
        "sign_rs256 (ours)                {:>12}",
        ms(median(t_ours))
    );
    println!("rsa 0.10 sign, same key and RNG  {:>12}", ms(median(t_raw)));
    println!(
        "assertion sign (claims+JWS)      {:>12}",
        ms(median(t_assert))
    );
    println!("sign_overhead_vs_rsa: {:.2}", median(overhead));
    let cpu = cpu_description();
    println!("cpu: {cpu}");
    let ssl = match ssl {
        Ok(ssl) => ssl,
        Err(why) => {
            println!("sign_vs_openssl_cpu: unavailable ({why})");
            return None;
        }
    };
    // "OpenSSL 3.0.19 27 Jan 2026" -> "OpenSSL 3.0.19"
    let version = ssl.version();
    let version = version.split(' ').take(2).collect::<Vec<_>>().join(" ");
    let wall = median(wall_ssl);
    println!("{version} sign, same key, wall clock {:>12}", ms(wall));
    println!(
        "per-thread CPU time a signature: ours {}, {version} {}",
        ms(median(cpu_ours)),
        ms(median(cpu_ssl))
    );
    println!(
        "sign_vs_openssl_cpu: {:.2} (ours ÷ {version} in this process, same key; {cpu})",
        median(vs_ssl)
    );
    Some(wall)
}
