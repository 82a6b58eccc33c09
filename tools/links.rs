//! `zre --install-links DIR`: the busybox-style symlinks to this binary.

use crate::failure::{Failure, Outcome};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The applets reached through a link named after them.
pub const LINKED_APPLETS: [&str; 4] = ["zrecat", "zretime", "zreworker", "zgossip_server"];

/// Creates DIR/zrecat, ... pointing at the running executable; replaces
/// links that point elsewhere, never a file that is not a link. Makes every
/// link it can: each one it could not make is said on stderr, and then the
/// whole fails (exit status 1).
pub fn install_links(dir: &Path) -> Outcome {
    let exe =
        std::env::current_exe().map_err(|e| Failure::new(format!("cannot find this executable: {e}")))?;
    let exe = fs::canonicalize(&exe).unwrap_or(exe);
    let dir_meta = fs::metadata(dir).map_err(|e| Failure::new(format!("{}: {e}", dir.display())))?;
    if !dir_meta.is_dir() {
        return Err(Failure::new(format!("{}: not a directory", dir.display())));
    }
    // Next to the executable a relative link survives moving the directory.
    let same_dir = fs::canonicalize(dir).ok().as_deref() == exe.parent();
    let target: PathBuf = match (same_dir, exe.file_name()) {
        (true, Some(name)) => PathBuf::from(name),
        _ => exe.clone(),
    };
    let mut failed = Vec::new();
    for applet in LINKED_APPLETS {
        let link = dir.join(applet);
        match install_link(&link, &target) {
            Ok(Installed::Created) => println!("{} -> {}", link.display(), target.display()),
            Ok(Installed::AlreadyThere) => {
                println!("{} -> {} (already there)", link.display(), target.display());
            }
            Err(why) => {
                eprintln!("zre: {why}");
                failed.push(applet);
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "{} of {} links not made: {}",
            failed.len(),
            LINKED_APPLETS.len(),
            failed.join(", ")
        )))
    }
}

/// What [`install_link`] did.
enum Installed {
    Created,
    AlreadyThere,
}

/// Makes one link, replacing a link that points elsewhere; the error says
/// why not, naming the link.
fn install_link(link: &Path, target: &Path) -> Result<Installed, String> {
    match fs::symlink_metadata(link) {
        Ok(meta) if meta.file_type().is_symlink() => {
            if fs::read_link(link).is_ok_and(|current| current == target) {
                return Ok(Installed::AlreadyThere);
            }
            fs::remove_file(link).map_err(|e| format!("cannot replace {}: {e}", link.display()))?;
        }
        Ok(_) => {
            return Err(format!(
                "refusing to overwrite {}: it is not a symbolic link",
                link.display()
            ));
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(format!("{}: {err}", link.display())),
    }
    std::os::unix::fs::symlink(target, link).map_err(|e| format!("cannot create {}: {e}", link.display()))?;
    Ok(Installed::Created)
}
