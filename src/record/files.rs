//! Where the recorder's files go and how they are put in place: journal,
//! temporary and recovered names beside the output, and the atomic
//! write-sync-rename of the finished file.

use super::journal::EXTENSION;
use super::RecordError;
use std::ffi::OsString;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The output's file name, as text (the journal records it).
pub(crate) fn file_name(output: &Path) -> Result<String, RecordError> {
    output
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| RecordError::Unwritable {
            dir: output.to_owned(),
            reason: "that is not a file name; give one such as take.mid".to_owned(),
        })
}

/// The directory a file is in (`.` for a bare name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// `dir/.name<suffix>` for `dir/name`.
fn hidden_beside(output: &Path, suffix: &str) -> Result<PathBuf, RecordError> {
    let name = output.file_name().ok_or_else(|| RecordError::Unwritable {
        dir: output.to_owned(),
        reason: "that is not a file name; give one such as take.mid".to_owned(),
    })?;
    let mut hidden = OsString::from(".");
    hidden.push(name);
    hidden.push(suffix);
    Ok(parent_dir(output).join(hidden))
}

/// The journal of a take to `output`: `.<name>.journal` beside it.
pub(crate) fn journal_path(output: &Path) -> Result<PathBuf, RecordError> {
    hidden_beside(output, EXTENSION)
}

/// `<stem>.recovered.mid` beside `target`.
pub(crate) fn recovered_path(target: &Path) -> PathBuf {
    let stem = target.file_stem().unwrap_or(target.as_os_str());
    let mut name = stem.to_owned();
    name.push(".recovered.mid");
    parent_dir(target).join(name)
}

/// Why `dir` cannot be written, for people.
pub(crate) fn reason(error: &io::Error, dir: &Path) -> String {
    if !dir.is_dir() {
        "no such directory".to_owned()
    } else {
        error.to_string()
    }
}

/// A new temporary file beside `target`, named `.<name>.<random><suffix>`:
/// created with `O_CREAT|O_EXCL` (never through a planted symlink, never an
/// existing file) and the permissions any new file gets (0666 less the
/// umask); removed when dropped unless persisted.
pub(crate) fn temporary_beside(target: &Path, suffix: &str) -> io::Result<tempfile::NamedTempFile> {
    let mut prefix = OsString::from(".");
    prefix.push(target.file_name().unwrap_or_default());
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(parent_dir(target))
}

/// Writes `bytes` to a temporary file beside `target` (see
/// [`temporary_beside`]), syncs it, renames it into place and syncs the
/// directory. On failure the temporary file is removed and `target` is
/// untouched.
pub(crate) fn write_atomically(target: &Path, bytes: &[u8]) -> Result<(), RecordError> {
    let failed = |source: io::Error| RecordError::Write {
        path: target.to_owned(),
        source,
    };
    file_name(target)?;
    let mut temporary = temporary_beside(target, ".tmp").map_err(failed)?;
    temporary.write_all(bytes).map_err(failed)?;
    temporary.as_file().sync_all().map_err(failed)?;
    // Dropping the error drops the temporary file with it: it is removed.
    temporary.persist(target).map_err(|e| failed(e.error))?;
    sync_dir(&parent_dir(target));
    Ok(())
}

/// Makes a rename or removal in `dir` durable (best effort; Unix only).
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
