//! Output files that never destroy anything: an [`AtomicFile`] is written to a temporary
//! file in the target's directory and renamed over the target only when complete, so a
//! failed write (full disk, an error, a crash) leaves the old content at the path intact;
//! and [`FileId`] (device + inode) tells whether an output path is one of the inputs,
//! whatever names (links, `./x` vs `x`) they are given by.

use std::fs::Permissions;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// Identity of an existing file: its device and inode numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of the file at `path` (following symlinks), or None when there is no
    /// such file (or it cannot be stat'ed: then opening it fails with the real error).
    pub fn of_path(path: &Path) -> Option<FileId> {
        std::fs::metadata(path).ok().map(|m| FileId::of(&m))
    }

    pub fn of(m: &std::fs::Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// A buffered writer to a temporary file that becomes `path` on [`AtomicFile::commit`];
/// dropped without a commit, the temporary file is removed and `path` is untouched.
pub struct AtomicFile {
    path: PathBuf,
    out: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    /// Create the temporary file next to `path` (same directory, so the rename is atomic).
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            // The mode File::create uses (the umask applies), not tempfile's private 0600:
            // the result must look like any other file the user writes.
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(dir)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, tmp),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush, then rename the temporary file over `path`.
    pub fn commit(self) -> io::Result<()> {
        let tmp = self.out.into_inner().map_err(|e| e.into_error())?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_drop_leaves_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        std::fs::write(&p, b"old").unwrap();
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"half").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temporary file left behind"
        );
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn file_id_sees_through_other_names() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        std::fs::write(&p, b"x").unwrap();
        let link = dir.path().join("b");
        std::fs::hard_link(&p, &link).unwrap();
        let dotted = dir.path().join(".").join("a");
        assert_eq!(FileId::of_path(&p), FileId::of_path(&link));
        assert_eq!(FileId::of_path(&p), FileId::of_path(&dotted));
        assert!(FileId::of_path(&dir.path().join("missing")).is_none());
    }
}
