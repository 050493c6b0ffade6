#!/usr/bin/env python3
"""Writes the tampered keys `tests/key_soundness.rs` expects the loader to refuse.

Each starts from the LINE docs' example key (tests/keys/line-docs-pyjwt.jwk.json) and changes
one number, keeping everything else consistent, except `composite-p`, a fresh key whose `p` is
the product of two primes while n = p*q, d, dp, dq and qi all fit together as if p were prime,
and `carmichael-p`, the same with a Chernick Carmichael number for `p` (see below).
Deterministic: run it again and the files come out the same. Standard library only.
"""
import base64, json, math, pathlib, random

HERE = pathlib.Path(__file__).parent
BASE = json.loads((HERE.parent / "line-docs-pyjwt.jwk.json").read_text())


def b2i(s):
    return int.from_bytes(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)), "big")


def i2b(i):
    return base64.urlsafe_b64encode(i.to_bytes(max(1, (i.bit_length() + 7) // 8), "big")).rstrip(b"=").decode()


def is_prime(n, rng):
    if n < 2:
        return False
    for small in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29):
        if n % small == 0:
            return n == small
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(40):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def prime(bits, rng, e=65537):
    while True:
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if math.gcd(e, c - 1) == 1 and is_prime(c, rng):
            return c


def der_int(i):
    body = i.to_bytes(i.bit_length() // 8 + 1, "big")  # leading 0 keeps it positive
    return b"\x02" + der_len(len(body)) + body


def der_len(n):
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def der_seq(*parts):
    body = b"".join(parts)
    return b"\x30" + der_len(len(body)) + body


def pem(label, der):
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def write(name, k):
    names = ["n", "e", "d", "p", "q", "dp", "dq", "qi"]
    jwk = {"kty": "RSA", **{m: i2b(k[m]) for m in names}}
    (HERE / f"{name}.jwk.json").write_text(json.dumps(jwk, indent=2) + "\n")
    pkcs1 = der_seq(der_int(0), *(der_int(k[m]) for m in names))
    (HERE / f"{name}.pkcs1.pem").write_text(pem("RSA PRIVATE KEY", pkcs1))
    rsa_oid = bytes.fromhex("06092a864886f70d010101") + b"\x05\x00"
    pkcs8 = der_seq(der_int(0), der_seq(rsa_oid), b"\x04" + der_len(len(pkcs1)) + pkcs1)
    (HERE / f"{name}.pkcs8.pem").write_text(pem("PRIVATE KEY", pkcs8))


base = {m: b2i(BASE[m]) for m in ["n", "e", "d", "p", "q", "dp", "dq", "qi"]}
assert base["p"] * base["q"] == base["n"]

write("control", base)  # untouched: proves the encoders, so only the tampering is refused
write("wrong-d", {**base, "d": base["d"] + 2})
write("wrong-dp", {**base, "dp": (base["dp"] + 2) % (base["p"] - 1)})
write("wrong-dq", {**base, "dq": (base["dq"] + 2) % (base["q"] - 1)})
write("wrong-qi", {**base, "qi": (base["qi"] + 1) % base["p"]})

rng = random.Random(9)
e = 65537
while True:
    p = prime(512, rng) * prime(512, rng)  # composite, 1023 or 1024 bits
    q = prime(1024, rng)
    n = p * q
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    if n.bit_length() == 2048 and p.bit_length() == 1024 and math.gcd(e, lam) == 1:
        break
d = pow(e, -1, lam)
write("composite-p", {"n": n, "e": e, "d": d, "p": p, "q": q,
                      "dp": d % (p - 1), "dq": d % (q - 1), "qi": pow(q, -1, p)})

# `carmichael-p`: a key whose `p` is a Chernick Carmichael number (6k+1)(12k+1)(18k+1), the
# product of three primes of about 341 bits. Every base coprime to it passes Fermat's test, so
# with n = p*q and d, dp, dq, qi computed as if p were prime, the key signs and verifies like
# a sound one: only a primality proof of p tells it apart.
rng = random.Random(19)
# k a multiple of every prime below 100 keeps 6k+1, 12k+1 and 18k+1 free of small factors.
M = math.prod(r for r in range(5, 100) if all(r % s for s in range(2, r)))


def icbrt(x):
    lo, hi = 0, 1 << (x.bit_length() // 3 + 2)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if mid ** 3 <= x:
            lo = mid
        else:
            hi = mid - 1
    return lo


k_low = icbrt((3 << 1022) // 1296) + 1   # p >= 1.5 * 2^1023: top two bits set
k_high = icbrt((1 << 1024) // 1296) - 1  # p < 2^1024
while True:
    k = M * rng.randrange(k_low // M + 1, k_high // M)
    factors = [6 * k + 1, 12 * k + 1, 18 * k + 1]
    if all(pow(2, f - 1, f) == 1 for f in factors) and all(is_prime(f, rng) for f in factors):
        break
p = math.prod(factors)
assert p.bit_length() == 1024 and p >> 1022 == 3
assert all((p - 1) % (f - 1) == 0 for f in factors)  # Korselt: p is a Carmichael number
while True:
    q = prime(1024, rng)
    n = p * q
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    if n.bit_length() == 2048 and math.gcd(e, lam) == 1:
        break
d = pow(e, -1, lam)
write("carmichael-p", {"n": n, "e": e, "d": d, "p": p, "q": q,
                       "dp": d % (p - 1), "dq": d % (q - 1), "qi": pow(q, -1, p)})
