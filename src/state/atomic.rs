//! Crash-safe file replacement and private folders.
//!
//! A reader must see either the old or the new content of a state file,
//! never a mix, even when the writer is killed halfway: the new content goes
//! to a temporary file in the same folder, is flushed to disk, and is then
//! renamed over the old name (rename is atomic within one file system); the
//! folder is flushed too so the rename itself survives a power loss.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Prefix of temporary files. Real state names never start with a dot
/// (see `ids`), so leftovers of a killed writer are recognisable.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Replace `path` with `bytes` atomically; the file is created 0600.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no folder"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let temp = dir.join(format!(
        "{TEMP_PREFIX}{}-{:08x}-{}",
        std::process::id(),
        random_u32(),
        name.to_string_lossy()
    ));
    let result = write_new(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    sync_dir(dir)
}

fn write_new(temp: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temp)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Flush a folder's entries (new, renamed or removed names) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Create `dir` (and missing parents) with mode 0700.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Remove leftovers of writers of `dir/name` that were killed before their
/// rename. Only call this while holding the lock that serialises the writers
/// of that name.
pub fn remove_stale_temps(dir: &Path, name: &str) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if temp_target(&entry.file_name().to_string_lossy()) == Some(name) {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// The file a temporary name (`.tmp-<pid>-<random>-<name>`) was meant to
/// replace.
fn temp_target(file_name: &str) -> Option<&str> {
    let mut parts = file_name.strip_prefix(TEMP_PREFIX)?.splitn(3, '-');
    let (_pid, _random) = (parts.next()?, parts.next()?);
    parts.next()
}

/// A random number for temporary and policy-key uses.
pub fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    getrandom::getrandom(&mut b).expect("the operating system has no random source");
    u32::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn write_replaces_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn failed_write_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write(&p, b"old").unwrap();
        // A folder in the way makes the rename fail after the temp file exists.
        let blocked = dir.path().join("g");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"").unwrap();
        assert!(write(&blocked, b"new").is_err());
        assert_eq!(fs::read(&p).unwrap(), b"old");
        let temps = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with(TEMP_PREFIX)
            })
            .count();
        assert_eq!(temps, 0);
    }

    #[test]
    fn private_dir_and_stale_temp_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a/b");
        create_private_dir(&d).unwrap();
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
        fs::write(d.join(".tmp-1-0000abcd-info-X"), b"half").unwrap();
        fs::write(d.join(".tmp-1-0000abcd-info-X-1"), b"other device").unwrap();
        fs::write(d.join("info-X"), b"whole").unwrap();
        remove_stale_temps(&d, "info-X").unwrap();
        assert!(!d.join(".tmp-1-0000abcd-info-X").exists());
        assert!(d.join(".tmp-1-0000abcd-info-X-1").exists());
        assert!(d.join("info-X").exists());
    }
}
