//! Files in directories other users may share (`/tmp`, a team's state directory): checked the
//! way OpenSSH's StrictModes checks `authorized_keys`, read with a size bound, never through a
//! symbolic link, written through an exclusive random temporary file renamed into place.
//!
//! Unix only, like the rest of the CLI's file handling: ownership and modes are Unix ideas.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::failure::{local, Failure};

/// The largest file the CLI reads (cache, key, secret, token): far above any real one.
pub const MAX_FILE: u64 = 64 * 1024;

/// `O_NOFOLLOW | O_NONBLOCK` where their values are known (std does not export them and the
/// crate takes no libc dependency). The `symlink_metadata`-then-`fstat` identity check below
/// holds without them; with them, a FIFO swapped in cannot even make `open` wait.
fn no_follow_no_block() -> i32 {
    if cfg!(all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "riscv64",
            target_arch = "s390x",
            target_arch = "loongarch64"
        )
    )) {
        0x20000 | 0x800
    } else if cfg!(all(
        target_os = "linux",
        any(
            target_arch = "aarch64",
            target_arch = "arm",
            target_arch = "powerpc64"
        )
    )) {
        0x8000 | 0x800
    } else if cfg!(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )) {
        0x100 | 0x4
    } else {
        0
    }
}

/// The user this process acts as: the owner of `/proc/self`, or of a file it creates.
pub fn current_uid() -> Result<u32, Failure> {
    if let Ok(m) = std::fs::metadata("/proc/self") {
        return Ok(m.uid());
    }
    let probe = tempfile::tempfile().map_err(|e| local(format!("cannot find my user id: {e}")))?;
    let meta = probe
        .metadata()
        .map_err(|e| local(format!("cannot find my user id: {e}")))?;
    Ok(meta.uid())
}

/// Creates the missing directories of `dir`, each mode 0700 whatever the umask.
pub fn create_private_dirs(dir: &Path) -> Result<(), Failure> {
    let mut missing = Vec::new();
    let mut cursor = Some(dir);
    while let Some(d) = cursor.filter(|d| !d.as_os_str().is_empty()) {
        if d.symlink_metadata().is_ok() {
            break;
        }
        missing.push(d.to_path_buf());
        cursor = d.parent();
    }
    for d in missing.iter().rev() {
        let fail =
            |e: std::io::Error| local(format!("cannot create directory {}: {e}", d.display()));
        match std::fs::DirBuilder::new().mode(0o700).create(d) {
            // Ours: the umask may have taken bits off; set exactly 0700.
            Ok(()) => {
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).map_err(fail)?
            }
            // Someone else's meanwhile: not ours to chmod; `check_dirs` judges it.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(())
}

/// The directory itself if it exists, else its nearest existing ancestor.
pub fn nearest_existing(dir: &Path) -> &Path {
    dir.ancestors()
        .find(|d| !d.as_os_str().is_empty() && d.exists())
        .unwrap_or(Path::new("."))
}

/// Refuses a directory, or any directory above it, that another user could change: owned by
/// someone else (root aside), writable by group or others without the sticky bit (as
/// OpenSSH's StrictModes refuses group-writable ones: a member of the group could delete the
/// lock or the file and make a second process issue), or reached through a link of someone
/// else's.
pub fn check_dirs(dir: &Path, uid: u32) -> Result<(), Failure> {
    // A link in the path as given is checked before it is resolved: one planted in a shared
    // directory (`/tmp/line -> ~/project/config`) passes every check below, as its target is
    // yours, and then sends the cache, its lock and its rewrites into your directory.
    for d in dir.ancestors().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(meta) = d.symlink_metadata() {
            if meta.file_type().is_symlink() && meta.uid() != uid && meta.uid() != 0 {
                return Err(local(format!(
                    "{} is a symbolic link of uid {}, not yours (uid {uid}) or root's: its \
                     owner can point it anywhere, even at a directory of yours; use a path \
                     without it",
                    d.display(),
                    meta.uid()
                )));
            }
        }
    }
    let dir = std::fs::canonicalize(dir)
        .map_err(|e| local(format!("cannot resolve directory {}: {e}", dir.display())))?;
    for d in dir.ancestors() {
        let meta = std::fs::metadata(d)
            .map_err(|e| local(format!("cannot inspect directory {}: {e}", d.display())))?;
        let mode = meta.mode() & 0o7777;
        if meta.uid() != uid && meta.uid() != 0 {
            return Err(local(format!(
                "directory {} belongs to uid {}, not to you (uid {uid}) or root: its owner could \
                 swap the cache; keep the cache in a directory of yours (e.g. ~/.cache/line)",
                d.display(),
                meta.uid()
            )));
        }
        if mode & 0o002 != 0 && mode & 0o1000 == 0 {
            return Err(local(format!(
                "directory {} is writable by others (mode {mode:04o}) and not sticky: anyone \
                 could replace the cache; fix with `chmod o-w {}` (or `chmod +t`), or use \
                 a directory of your own",
                d.display(),
                d.display()
            )));
        }
        if mode & 0o020 != 0 && mode & 0o1000 == 0 {
            return Err(local(format!(
                "directory {} is writable by its group (mode {mode:04o}) and not sticky: a \
                 member could delete the lock or replace the cache; fix with `chmod g-w {}`, \
                 or use a directory of your own",
                d.display(),
                d.display()
            )));
        }
    }
    Ok(())
}

/// Refuses a file that is not a regular file of ours, writable by us alone, of sane size.
fn check_private(path: &Path, meta: &Metadata, uid: u32) -> Result<(), Failure> {
    let p = path.display();
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(local(format!(
            "{p} is a symbolic link; it must be a regular file: remove it (`rm {p}`) and \
             line-token will create the file"
        )));
    }
    if !kind.is_file() {
        return Err(local(format!(
            "{p} is not a regular file (a directory, FIFO, socket or device); point the \
             option at a regular file"
        )));
    }
    if meta.uid() != uid {
        return Err(local(format!(
            "{p} belongs to uid {}, not to you (uid {uid}): another user could have written \
             it; remove it (`rm {p}`), or use a directory of your own",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(local(format!(
            "{p} is writable by group or others (mode {mode:04o}); fix with `chmod 600 {p}`"
        )));
    }
    if meta.len() > MAX_FILE {
        return Err(local(format!(
            "{p} is {} bytes, more than any line-token file ({MAX_FILE}); remove it",
            meta.len()
        )));
    }
    Ok(())
}

/// Opens an existing private file without following a link, and checks that what was opened
/// is what was inspected (same device and inode), so no swap between the two can slip by.
fn open_checked(path: &Path, uid: u32, write: bool) -> Result<Option<File>, Failure> {
    let before = match path.symlink_metadata() {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(local(format!("cannot inspect {}: {e}", path.display()))),
    };
    check_private(path, &before, uid)?;
    let file = OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(no_follow_no_block())
        .open(path)
        .map_err(|e| local(format!("cannot open {}: {e}", path.display())))?;
    let after = file
        .metadata()
        .map_err(|e| local(format!("cannot inspect {}: {e}", path.display())))?;
    if (after.dev(), after.ino()) != (before.dev(), before.ino()) {
        return Err(local(format!(
            "{} changed while being opened; is another user tampering with it?",
            path.display()
        )));
    }
    check_private(path, &after, uid)?;
    Ok(Some(file))
}

/// Refuses an existing `path` that is not a private file of ours, before anything is created
/// next to it (a cache pointed at `/dev/zero` must not leave `/dev/zero.lock` behind).
pub fn check_existing(path: &Path, uid: u32) -> Result<(), Failure> {
    match path.symlink_metadata() {
        Ok(meta) => check_private(path, &meta, uid),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(local(format!("cannot inspect {}: {e}", path.display()))),
    }
}

/// A private file's contents.
pub struct Contents {
    pub bytes: Vec<u8>,
    /// The mode it had when it was readable by group or others, and was narrowed to 0600.
    pub narrowed_from: Option<u32>,
}

/// The contents of a private file, or `None` if there is none. A file others could read (a
/// token in it is a secret) is narrowed to 0600 first, and says so.
pub fn read_private(path: &Path, uid: u32) -> Result<Option<Contents>, Failure> {
    let Some(file) = open_checked(path, uid, false)? else {
        return Ok(None);
    };
    let mode = file
        .metadata()
        .map_err(|e| local(format!("cannot inspect {}: {e}", path.display())))?
        .mode()
        & 0o7777;
    let narrowed_from = if mode & 0o044 != 0 {
        // Through the open file: the path may have been swapped since.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| {
                local(format!(
                    "cannot narrow {} to mode 0600: {e}",
                    path.display()
                ))
            })?;
        Some(mode)
    } else {
        None
    };
    let bytes = read_bounded(file, &path.display().to_string())?;
    Ok(Some(Contents {
        bytes,
        narrowed_from,
    }))
}

/// Reads at most [`MAX_FILE`] bytes, and refuses more.
pub fn read_bounded(reader: impl Read, what: &str) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| local(format!("cannot read {what}: {e}")))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(local(format!(
            "{what} holds more than {MAX_FILE} bytes; that is not a line-token input"
        )));
    }
    Ok(bytes)
}

/// The lock file next to `path` (`path.lock`, mode 0600), locked exclusively, waiting at most
/// `timeout` for whoever holds it.
pub fn lock(path: &Path, uid: u32, timeout: Duration) -> Result<File, Failure> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = match open_checked(&lock_path, uid, true)? {
        Some(f) => f,
        None => create_lock(&lock_path, uid)?,
    };
    // A timeout past the end of time (`--lock-timeout 99999999999999`) waits "forever".
    let deadline = Instant::now().checked_add(timeout);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                let left = deadline.map_or(Duration::MAX, |d| {
                    d.saturating_duration_since(Instant::now())
                });
                if left.is_zero() {
                    return Err(Failure::Retry(format!(
                        "another process has held {} for {} s (--lock-timeout); try again later",
                        lock_path.display(),
                        timeout.as_secs()
                    )));
                }
                std::thread::sleep(left.min(Duration::from_millis(50)));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(local(format!("cannot lock {}: {e}", lock_path.display())))
            }
        }
    }
}

fn create_lock(lock_path: &Path, uid: u32) -> Result<File, Failure> {
    // O_EXCL: never through a link, never someone else's file.
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(lock_path)
    {
        Ok(f) => {
            // The umask may have taken bits off: the owner needs read and write.
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| {
                    local(format!(
                        "cannot set the mode of {}: {e}",
                        lock_path.display()
                    ))
                })?;
            Ok(f)
        }
        // Another process created it meanwhile: open that one, with the same checks.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            open_checked(lock_path, uid, true)?
                .ok_or_else(|| local(format!("{} vanished while opening", lock_path.display())))
        }
        Err(e) => Err(local(format!("cannot create {}: {e}", lock_path.display()))),
    }
}

/// How many random characters a temporary file's name has.
const TEMP_RANDOM: usize = 12;

/// The temporary files of `path` are named `.NAME.<12 random alphanumerics>.tmp` next to it.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.")
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Replaces `path` atomically: the bytes go to a new, exclusively created, random-named 0600
/// file in the same directory, which is synced and renamed over `path`. A crash leaves the old
/// file or the new one, and at worst a temporary file no run ever opens.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| local(format!("cannot write {}: {e}", path.display()));
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .rand_bytes(TEMP_RANDOM)
        .suffix(".tmp")
        .tempfile_in(dir_of(path))
        .map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    crash_point();
    tmp.persist(path).map_err(|e| fail(e.error))?;
    // The rename itself is durable once the directory is synced.
    if let Ok(d) = File::open(dir_of(path)) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes temporary files a killed run left behind. Called under the lock, when no other
/// run can be writing one; only our own regular files are touched.
pub fn sweep_temps(path: &Path, uid: u32) {
    let prefix = temp_prefix(path);
    let Ok(entries) = std::fs::read_dir(dir_of(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Exactly our pattern: the temporaries of `t.json.x` (`.t.json.x.<random>.tmp`),
        // written under another lock, are not ours to remove.
        let ours = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .is_some_and(|r| {
                r.len() == TEMP_RANDOM && r.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if !ours {
            continue;
        }
        if let Ok(m) = entry.path().symlink_metadata() {
            if m.file_type().is_file() && m.uid() == uid {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// For the crash tests: with `LINE_TOKEN_TEST_STALL_BEFORE_RENAME` set, a run stops here (its
/// temporary file written, the rename not done) and says so on stderr, to be killed. Only debug
/// builds (what `cargo test` runs) read it: an installed, release-built `line-token` does not.
fn crash_point() {
    #[cfg(debug_assertions)]
    if std::env::var_os("LINE_TOKEN_TEST_STALL_BEFORE_RENAME").is_some() {
        let _ = writeln!(std::io::stderr(), "line-token: stalled before rename");
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
}

/// Creates a new file (never through a link, never over an existing file) with `mode`.
pub fn create_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), Failure> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| local(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(contents)
        .and_then(|()| file.set_permissions(std::fs::Permissions::from_mode(mode)))
        .map_err(|e| local(format!("cannot write {}: {e}", path.display())))
}
