//! OpenSSL's RS256 signer in this process, on our key: the reference for `sign_vs_openssl_cpu`.
//!
//! libcrypto is loaded when the bench runs (`dlopen`), not linked: building the bench (which
//! `cargo test` does) needs no OpenSSL headers or pkg-config, so the README's two commands keep
//! working on a machine without libssl-dev. Where the `openssl` command is installed, its
//! libcrypto is too. Each call does what `SigningKey::sign_rs256` does: SHA-256 of the signing
//! input, then an RSASSA-PKCS1-v1_5 signature with the private key, blinded (OpenSSL blinds
//! RSA private-key operations by default), through the same `EVP_PKEY_sign` on a prepared
//! context that `openssl speed rsa2048` times.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};

type Ptr = *mut c_void;

type BioNewMemBuf = unsafe extern "C" fn(*const c_void, c_int) -> Ptr;
type BioFree = unsafe extern "C" fn(Ptr) -> c_int;
type PemReadBioPrivateKey = unsafe extern "C" fn(Ptr, *mut Ptr, Ptr, Ptr) -> Ptr;
type EvpPkeyFree = unsafe extern "C" fn(Ptr);
type EvpPkeyCtxNew = unsafe extern "C" fn(Ptr, Ptr) -> Ptr;
type EvpPkeyCtxFree = unsafe extern "C" fn(Ptr);
type EvpPkeySignInit = unsafe extern "C" fn(Ptr) -> c_int;
type EvpPkeyCtxSetSignatureMd = unsafe extern "C" fn(Ptr, *const c_void) -> c_int;
type EvpPkeySign = unsafe extern "C" fn(Ptr, *mut u8, *mut usize, *const u8, usize) -> c_int;
type EvpSha256 = unsafe extern "C" fn() -> *const c_void;
type EvpDigest =
    unsafe extern "C" fn(*const c_void, usize, *mut u8, *mut c_uint, *const c_void, Ptr) -> c_int;
type OpensslVersion = unsafe extern "C" fn(c_int) -> *const c_char;

/// The libcrypto functions used, looked up by name.
struct Api {
    bio_new_mem_buf: BioNewMemBuf,
    bio_free: BioFree,
    pem_read_bio_private_key: PemReadBioPrivateKey,
    evp_pkey_free: EvpPkeyFree,
    evp_pkey_ctx_new: EvpPkeyCtxNew,
    evp_pkey_ctx_free: EvpPkeyCtxFree,
    evp_pkey_sign_init: EvpPkeySignInit,
    evp_pkey_ctx_set_signature_md: EvpPkeyCtxSetSignatureMd,
    evp_pkey_sign: EvpPkeySign,
    evp_sha256: EvpSha256,
    evp_digest: EvpDigest,
    openssl_version: OpensslVersion,
}

/// An OpenSSL RSA key and a signing context prepared for RS256 (`EVP_PKEY_sign` with SHA-256
/// and PKCS#1 v1.5 padding, the default for RSA).
pub(crate) struct OpenSsl {
    api: Api,
    key: Ptr,
    ctx: Ptr,
    signature: Vec<u8>,
}

impl OpenSsl {
    /// Loads libcrypto (OpenSSL 3) and `pem`, a PKCS#8 private key, into it.
    pub(crate) fn load(pem: &str) -> Result<OpenSsl, String> {
        let lib = ["libcrypto.so.3", "libcrypto.3.dylib", "libcrypto.so"]
            .iter()
            .find_map(|name| {
                let name = CString::new(*name).expect("no NUL");
                // SAFETY: dlopen of a library by name; the handle is kept for the process's life.
                let lib = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
                (!lib.is_null()).then_some(lib)
            })
            .ok_or("no OpenSSL 3 libcrypto (libcrypto.so.3) to load")?;
        macro_rules! sym {
            ($name:literal as $ty:ty) => {{
                let name = CString::new($name).expect("no NUL");
                // SAFETY: dlsym on a live handle; the symbol is transmuted to the function type
                // OpenSSL 3's headers declare for it.
                let f = unsafe { libc::dlsym(lib, name.as_ptr()) };
                if f.is_null() {
                    return Err(format!("libcrypto has no {}", $name));
                }
                unsafe { std::mem::transmute::<*mut c_void, $ty>(f) }
            }};
        }
        let api = Api {
            bio_new_mem_buf: sym!("BIO_new_mem_buf" as BioNewMemBuf),
            bio_free: sym!("BIO_free" as BioFree),
            pem_read_bio_private_key: sym!("PEM_read_bio_PrivateKey" as PemReadBioPrivateKey),
            evp_pkey_free: sym!("EVP_PKEY_free" as EvpPkeyFree),
            evp_pkey_ctx_new: sym!("EVP_PKEY_CTX_new" as EvpPkeyCtxNew),
            evp_pkey_ctx_free: sym!("EVP_PKEY_CTX_free" as EvpPkeyCtxFree),
            evp_pkey_sign_init: sym!("EVP_PKEY_sign_init" as EvpPkeySignInit),
            evp_pkey_ctx_set_signature_md: sym!(
                "EVP_PKEY_CTX_set_signature_md" as EvpPkeyCtxSetSignatureMd
            ),
            evp_pkey_sign: sym!("EVP_PKEY_sign" as EvpPkeySign),
            evp_sha256: sym!("EVP_sha256" as EvpSha256),
            evp_digest: sym!("EVP_Digest" as EvpDigest),
            openssl_version: sym!("OpenSSL_version" as OpensslVersion),
        };
        // SAFETY: each call follows OpenSSL 3's documented contract; every pointer is checked
        // before use and freed once (here on failure, in Drop on success).
        unsafe {
            let bio = (api.bio_new_mem_buf)(pem.as_ptr().cast(), pem.len() as c_int);
            if bio.is_null() {
                return Err("BIO_new_mem_buf failed".into());
            }
            let key = (api.pem_read_bio_private_key)(
                bio,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            (api.bio_free)(bio);
            if key.is_null() {
                return Err("OpenSSL could not read the key".into());
            }
            let ctx = (api.evp_pkey_ctx_new)(key, std::ptr::null_mut());
            if ctx.is_null()
                || (api.evp_pkey_sign_init)(ctx) != 1
                || (api.evp_pkey_ctx_set_signature_md)(ctx, (api.evp_sha256)()) != 1
            {
                if !ctx.is_null() {
                    (api.evp_pkey_ctx_free)(ctx);
                }
                (api.evp_pkey_free)(key);
                return Err("OpenSSL could not prepare an RS256 signature".into());
            }
            Ok(OpenSsl {
                api,
                key,
                ctx,
                signature: vec![0; 512],
            })
        }
    }

    /// The library's version text, for example "OpenSSL 3.0.19 27 Jan 2026".
    pub(crate) fn version(&self) -> String {
        // SAFETY: OpenSSL_version(OPENSSL_VERSION = 0) returns a static NUL-terminated string.
        unsafe { CStr::from_ptr((self.api.openssl_version)(0)) }
            .to_string_lossy()
            .into_owned()
    }

    /// The RS256 signature of `input`: SHA-256, then RSASSA-PKCS1-v1_5 with the private key.
    pub(crate) fn sign(&mut self, input: &[u8]) -> &[u8] {
        let mut digest = [0u8; 32];
        let mut digest_len: c_uint = 0;
        let mut len = self.signature.len();
        // SAFETY: the buffers outlive the calls and their lengths are passed with them.
        let ok = unsafe {
            (self.api.evp_digest)(
                input.as_ptr().cast(),
                input.len(),
                digest.as_mut_ptr(),
                &mut digest_len,
                (self.api.evp_sha256)(),
                std::ptr::null_mut(),
            ) == 1
                && (self.api.evp_pkey_sign)(
                    self.ctx,
                    self.signature.as_mut_ptr(),
                    &mut len,
                    digest.as_ptr(),
                    digest.len(),
                ) == 1
        };
        assert!(ok && digest_len == 32, "OpenSSL failed to sign");
        &self.signature[..len]
    }
}

impl Drop for OpenSsl {
    fn drop(&mut self) {
        // SAFETY: both were allocated by OpenSSL in `load` and are freed once.
        unsafe {
            (self.api.evp_pkey_ctx_free)(self.ctx);
            (self.api.evp_pkey_free)(self.key);
        }
    }
}
