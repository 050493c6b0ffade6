//! Signing: ours against raw `rsa` and against OpenSSL, in interleaved rounds.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use line_channel_token::*;

/// `openssl speed -elapsed -seconds 1 rsa2048`'s wall-clock time per private-key operation
/// (sign), if openssl is there. Wall clock, like ours: CPU time would flatter whichever side
/// the scheduler happened to favour.
pub(crate) fn openssl_sign_time() -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-elapsed", "-mr", "-seconds", "1", "rsa2048"])
        .output()
        .ok()?;
    // OpenSSL 3 prints the machine-readable lines on stderr, older versions on stdout.
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // "+R1:<count>:2048:<seconds>": private-key operations done in that many seconds.
    let line = text.lines().find(|l| l.starts_with("+R1:"))?;
    let mut parts = line.split(':').skip(1);
    let count: f64 = parts.next()?.parse().ok()?;
    let _bits = parts.next()?;
    let secs: f64 = parts.next()?.parse().ok()?;
    (count > 0.0).then_some(secs / count)
}

/// Wall-clock seconds of each call of `f`, for about `budget`. Per-call times, so that the
/// median ignores calls the scheduler preempted.
pub(crate) fn calls(budget: Duration, mut f: impl FnMut()) -> Vec<f64> {
    f(); // warm caches
    let start = Instant::now();
    let mut times = Vec::new();
    while start.elapsed() < budget {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    times
}

/// `a` and `b` called alternately, one call each in turn (order swapped every pair), for
/// about `budget`: both see the same load. Returns each one's per-call times.
pub(crate) fn paired(
    budget: Duration,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (Vec<f64>, Vec<f64>) {
    a();
    b();
    let start = Instant::now();
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    let mut flip = false;
    while start.elapsed() < budget {
        let time = |f: &mut dyn FnMut(), into: &mut Vec<f64>| {
            let t = Instant::now();
            f();
            into.push(t.elapsed().as_secs_f64());
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

/// Signing, fairly: rounds that interleave (in alternating order) our signer, raw `rsa` 0.10
/// on the same key, bytes and RNG (`OsRng`, so the same blinding), and `openssl speed`.
/// Each ratio is taken within a round, then the median over rounds is printed.
/// Returns openssl's median time per signature, if openssl ran.
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
    let raw = rsa::PrivateKey::from_pkcs8_pem(&key.to_pkcs8_pem().expect("exports"))
        .expect("rsa loads our PEM");
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
    assert_eq!(
        key.sign_rs256(input.as_bytes(), &mut OsRng).expect("signs"),
        raw.sign_with_rng(
            &mut OsRng,
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(input.as_bytes())
        )
        .expect("signs"),
        "the same signature"
    );
    let (mut t_ours, mut t_raw, mut t_assert, mut t_ssl) = (vec![], vec![], vec![], vec![]);
    let (mut overhead, mut vs_ssl) = (vec![], vec![]);
    for _ in 0..rounds {
        let (a, b) = paired(budget, ours, theirs);
        let (a, b) = (median(a), median(b));
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
        t_assert.push(median(full));
        if let Some(ssl) = openssl_sign_time() {
            // Ours for as long as openssl ran, right after it: both sides share the load.
            let again = median(calls(Duration::from_secs(1), ours));
            t_ssl.push(ssl);
            vs_ssl.push(again / ssl);
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
    println!("cpu: {}", cpu_description());
    if t_ssl.is_empty() {
        println!("sign_vs_openssl: unavailable (no openssl on PATH)");
        return None;
    }
    let ssl = median(t_ssl);
    println!("openssl speed -elapsed rsa2048   {:>12}", ms(ssl));
    println!("sign_vs_openssl: {:.2}", median(vs_ssl));
    Some(ssl)
}
