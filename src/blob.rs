//! Content that may be too large to hold in memory: a [`Blob`] is bytes in
//! memory or a span of an unnamed spool file, with an exact length known up
//! front (Content-Length, multipart offsets and ItemOperations `Total` need
//! it before a byte is written). A [`Spool`] makes the files: unnamed, so
//! they vanish with the last handle even if the process dies, and in a
//! folder under the state directory rather than `/tmp`, which is often a
//! RAM-backed tmpfs.
//!
//! Readers take bounded pieces ([`CHUNK`]), so copying a 25 MB attachment
//! out costs a constant amount of memory.

use base64::Engine;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt};
use std::path::PathBuf;
use std::sync::Arc;

/// The size of the pieces a file-backed blob is copied out in. A multiple
/// of 3, so each piece encodes to base64 without padding in the middle.
pub const CHUNK: usize = 3 * 21_845;

/// Bytes in memory, or `len` bytes at `offset` of a spool file.
#[derive(Debug, Clone)]
pub enum Blob {
    Memory(Vec<u8>),
    File {
        file: Arc<File>,
        offset: u64,
        len: u64,
    },
}

impl Default for Blob {
    fn default() -> Blob {
        Blob::Memory(Vec::new())
    }
}

impl From<Vec<u8>> for Blob {
    fn from(bytes: Vec<u8>) -> Blob {
        Blob::Memory(bytes)
    }
}

impl Blob {
    pub fn len(&self) -> u64 {
        match self {
            Blob::Memory(b) => b.len() as u64,
            Blob::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The length of this blob in base64 (with padding, no line breaks).
    pub fn base64_len(&self) -> u64 {
        self.len().div_ceil(3) * 4
    }

    /// Bytes `start..end` (cut to the blob); a file-backed blob stays a
    /// view of the same file, nothing is read.
    pub fn slice(self, start: u64, end: u64) -> Blob {
        let end = end.min(self.len());
        let start = start.min(end);
        match self {
            Blob::Memory(mut b) => {
                b.truncate(end as usize);
                b.drain(..start as usize);
                Blob::Memory(b)
            }
            Blob::File { file, offset, .. } => Blob::File {
                file,
                offset: offset + start,
                len: end - start,
            },
        }
    }

    /// Call `each` with the content in order, in pieces of at most
    /// [`CHUNK`] bytes (a memory blob in one piece).
    pub fn for_each_chunk(&self, mut each: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        match self {
            Blob::Memory(b) => each(b),
            Blob::File { file, offset, len } => {
                let mut buf = vec![0u8; CHUNK.min(*len as usize)];
                let mut done = 0u64;
                while done < *len {
                    let n = (*len - done).min(CHUNK as u64) as usize;
                    file.read_exact_at(&mut buf[..n], offset + done)?;
                    each(&buf[..n])?;
                    done += n as u64;
                }
                Ok(())
            }
        }
    }

    /// Write the content to `out`.
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        self.for_each_chunk(|piece| out.write_all(piece))
    }

    /// Write the content to `out` as base64 ([`Blob::base64_len`] bytes),
    /// encoded piece by piece.
    pub fn write_base64_to(&self, out: &mut dyn Write) -> io::Result<()> {
        let engine = &base64::engine::general_purpose::STANDARD;
        let mut encoded = String::new();
        self.for_each_chunk(|piece| {
            // Every piece but the last is a multiple of 3 bytes long.
            for part in piece.chunks(CHUNK) {
                encoded.clear();
                engine.encode_string(part, &mut encoded);
                out.write_all(encoded.as_bytes())?;
            }
            Ok(())
        })
    }

    /// The whole content in memory (for small blobs and tests).
    pub fn into_vec(self) -> io::Result<Vec<u8>> {
        match self {
            Blob::Memory(b) => Ok(b),
            file => {
                let mut out = Vec::with_capacity(file.len() as usize);
                file.write_to(&mut out)?;
                Ok(out)
            }
        }
    }
}

/// Where spool files are made: `dir`, created (mode 0700) on first use.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    pub fn new(dir: impl Into<PathBuf>) -> Spool {
        Spool { dir: dir.into() }
    }

    /// The spool of a state directory: `<state_dir>/.spool` (a leading dot
    /// cannot be a user name, see `state::ids`).
    pub fn in_state_dir(state_dir: &std::path::Path) -> Spool {
        Spool::new(state_dir.join(".spool"))
    }

    /// A new unnamed file to write a blob into.
    pub fn create(&self) -> io::Result<SpoolFile> {
        if !self.dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)?;
        }
        let file = tempfile::tempfile_in(&self.dir)?;
        Ok(SpoolFile {
            out: io::BufWriter::with_capacity(CHUNK, file),
            len: 0,
        })
    }
}

/// A spool file being written; [`SpoolFile::finish`] makes it a blob.
pub struct SpoolFile {
    out: io::BufWriter<File>,
    len: u64,
}

impl Write for SpoolFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl SpoolFile {
    /// Everything written so far, as a blob.
    pub fn finish(self) -> io::Result<Blob> {
        let len = self.len;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok(Blob::File {
            file: Arc::new(file),
            offset: 0,
            len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spooled(bytes: &[u8]) -> (tempfile::TempDir, Blob) {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path().join("spool"));
        let mut f = spool.create().unwrap();
        for piece in bytes.chunks(1000) {
            f.write_all(piece).unwrap();
        }
        let blob = f.finish().unwrap();
        // Unnamed: the folder stays empty.
        assert_eq!(
            std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
            0
        );
        (dir, blob)
    }

    #[test]
    fn spooled_blobs_read_back_whole_sliced_and_in_base64() {
        let bytes: Vec<u8> = (0..CHUNK * 2 + 7).map(|i| (i * 31 % 251) as u8).collect();
        let (_dir, blob) = spooled(&bytes);
        assert_eq!(blob.len(), bytes.len() as u64);
        assert_eq!(blob.clone().into_vec().unwrap(), bytes);
        let mut sizes = Vec::new();
        blob.for_each_chunk(|p| {
            sizes.push(p.len());
            Ok(())
        })
        .unwrap();
        assert_eq!(sizes, vec![CHUNK, CHUNK, 7]);
        let middle = blob.clone().slice(100, CHUNK as u64 + 5);
        assert_eq!(middle.clone().into_vec().unwrap(), &bytes[100..CHUNK + 5]);
        assert_eq!(
            blob.clone().slice(10, 1 << 40).len(),
            bytes.len() as u64 - 10
        );
        for b in [
            blob,
            middle,
            Blob::from(bytes[..5].to_vec()),
            Blob::default(),
        ] {
            let plain = b.clone().into_vec().unwrap();
            let mut encoded = Vec::new();
            b.write_base64_to(&mut encoded).unwrap();
            assert_eq!(encoded.len() as u64, b.base64_len());
            assert_eq!(
                encoded,
                base64::engine::general_purpose::STANDARD
                    .encode(&plain)
                    .into_bytes()
            );
        }
        assert_eq!(
            Blob::from(b"abcdef".to_vec())
                .slice(2, 4)
                .into_vec()
                .unwrap(),
            b"cd"
        );
    }
}
