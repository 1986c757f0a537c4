//! Removing a cgroup directory tree, leaf first.
//!
//! Kernel quirk: rmdir of a cgroup fails with EBUSY while it still has
//! member tasks, and a process that was just killed keeps its membership
//! until it has finished exiting (zombies included on some paths). So EBUSY
//! is retried with short sleeps until a deadline shared by the whole
//! teardown, rather than failing on the first attempt or waiting forever.

use std::fs;
use std::io;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::interface;

/// How long one teardown keeps retrying EBUSY in total.
pub(crate) const EBUSY_BUDGET: Duration = Duration::from_secs(1);

/// Removes `dir` and every cgroup below it, pushing each failure to `errors`
/// and carrying on with the rest. A directory that is already gone is fine.
pub(crate) fn remove_tree(dir: &Path, deadline: Instant, errors: &mut Vec<Error>) {
    match interface::children(dir) {
        Ok(kids) => {
            for kid in kids {
                remove_tree(&kid, deadline, errors);
            }
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return,
        Err(e) => errors.push(e),
    }
    if let Err(e) = rmdir(dir, deadline) {
        errors.push(e);
    }
}

fn rmdir(dir: &Path, deadline: Instant) -> Result<(), Error> {
    let mut pause = Duration::from_millis(5);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(Error::Remove {
                        path: dir.to_owned(),
                        err: e,
                    });
                }
                sleep(pause.min(deadline - now));
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(err) => {
                return Err(Error::Remove {
                    path: dir.to_owned(),
                    err,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_leaf_first_and_tolerates_missing() {
        let root = tempfile::tempdir().unwrap();
        let top = root.path().join("c");
        fs::create_dir_all(top.join("a/b")).unwrap();
        fs::create_dir_all(top.join("z")).unwrap();
        let mut errors = Vec::new();
        remove_tree(&top, Instant::now() + EBUSY_BUDGET, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!top.exists());
        remove_tree(&top, Instant::now(), &mut errors);
        assert!(errors.is_empty());
    }

    #[test]
    fn reports_and_continues() {
        let root = tempfile::tempdir().unwrap();
        let top = root.path().join("c");
        fs::create_dir_all(top.join("sub")).unwrap();
        // A regular file makes rmdir fail with ENOTEMPTY (unlike cgroupfs,
        // where interface files never block rmdir).
        fs::write(top.join("sub/file"), "").unwrap();
        let mut errors = Vec::new();
        remove_tree(&top, Instant::now(), &mut errors);
        assert_eq!(errors.len(), 2, "{errors:?}");
    }
}
