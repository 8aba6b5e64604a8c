//! File and directory modes for stores and directory remotes others read.
//!
//! New files are created with mode 0o666 and new directories with 0o777, and the kernel takes
//! the process umask off, as git and quilt3 do: with umask 022 everyone can read what was
//! written. The umask is never read (reading it means setting it, which races with other
//! threads). A group-shared store ([`Sharing::Group`], like git's
//! `core.sharedRepository=group`) also makes files group-writable and directories
//! group-writable and setgid, so every member of the group can add to it. The setgid bit is
//! what the directory remote and the store's own writers look at: a new directory under a
//! setgid directory gets the group bits too, whoever creates it.

use std::fs::{self, File, Permissions};
use std::io;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// The settings key that records a store's [`Sharing`].
pub const SHARING_KEY: &str = "core.shared";

/// Who may use a store besides its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sharing {
    /// Modes follow the umask of whoever writes.
    #[default]
    Umask,
    /// Files group-readable and -writable, directories group-writable and setgid.
    Group,
}

impl Sharing {
    /// Parses the value of `quilt init --shared` (and of the stored setting).
    pub fn parse(s: &str) -> Option<Sharing> {
        match s {
            "umask" | "false" => Some(Sharing::Umask),
            "group" | "true" => Some(Sharing::Group),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sharing::Umask => "umask",
            Sharing::Group => "group",
        }
    }
}

mod imp {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    const SETGID: u32 = 0o2000;

    pub fn file_perms() -> Permissions {
        Permissions::from_mode(0o666)
    }

    /// Adds `bits` to `file`'s mode if they are missing.
    pub fn add_bits(file: &File, bits: u32) -> io::Result<()> {
        let mode = file.metadata()?.mode() & 0o7777;
        if mode & bits != bits {
            file.set_permissions(Permissions::from_mode(mode | bits))?;
        }
        Ok(())
    }

    pub fn add_path_bits(path: &Path, bits: u32) -> io::Result<()> {
        let mode = fs::metadata(path)?.mode() & 0o7777;
        if mode & bits != bits {
            fs::set_permissions(path, Permissions::from_mode(mode | bits))?;
        }
        Ok(())
    }

    pub fn is_setgid(dir: &Path) -> bool {
        fs::metadata(dir).is_ok_and(|m| m.mode() & SETGID != 0)
    }

    pub const FILE_GROUP_BITS: u32 = 0o060;
    pub const DIR_GROUP_BITS: u32 = 0o070 | SETGID;
}

/// A temp file in `dir` created with mode 0o666 less the umask (plus group read-write when
/// `group`), instead of the 0o600 temp files get by default: it becomes a shared object.
pub fn temp_file_in(dir: &Path, prefix: &str, group: bool) -> io::Result<NamedTempFile> {
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(imp::file_perms())
        .tempfile_in(dir)?;
    if group {
        imp::add_bits(tmp.as_file(), imp::FILE_GROUP_BITS)?;
    }
    Ok(tmp)
}

/// Makes an existing file of a group-shared store group-readable and -writable. A file
/// someone else owns is left alone (only its owner may change it, and they did already).
pub fn share_with_group(path: &Path) -> io::Result<()> {
    match imp::add_path_bits(path, imp::FILE_GROUP_BITS) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        r => r,
    }
}

/// Makes a directory group-writable and setgid (new files and directories in it then belong
/// to its group).
pub fn share_dir_with_group(dir: &Path) -> io::Result<()> {
    imp::add_path_bits(dir, imp::DIR_GROUP_BITS)
}

/// Gives `path` the group of `like` (the store's root, which the team's group was given), as
/// a setgid directory gives it to what is created in it later.
pub fn adopt_group(path: &Path, like: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let gid = fs::metadata(like)?.gid();
    match fs::metadata(path) {
        Ok(m) if m.gid() != gid => std::os::unix::fs::chown(path, None, Some(gid)),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether `dir` is setgid: the mark of a directory shared by a group.
pub fn is_group_shared(dir: &Path) -> bool {
    imp::is_setgid(dir)
}

/// Creates `dir` and any missing parents with mode 0o777 less the umask. Each directory it
/// creates inside a setgid directory is made group-writable and setgid too, so a shared tree
/// stays shared whoever adds to it. Returns the directories it created, outermost first, so
/// the caller can fsync their parents.
pub fn create_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.is_dir() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    missing.reverse();
    let mut created = Vec::new();
    for d in missing {
        match fs::create_dir(&d) {
            Ok(()) => {
                if d.parent().is_some_and(imp::is_setgid) {
                    share_dir_with_group(&d)?;
                }
                created.push(d);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(created)
}
