//! The container's exit: Docker's exit code and the `STATE/exit` file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use crate::state_files;
use crate::time::Timestamp;

/// Docker's exit code for a wait(2) status: the exit status, or 128 + the signal.
pub fn code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        // stopped/continued are not reported (no WUNTRACED); be defensive anyway
        255
    }
}

/// Writes `STATE/exit` (`<code>\n<finish time>\n`) atomically: a reader sees either no
/// file or the whole of it, also after a crash (fsync before the rename).
pub fn write_file(state: &Path, code: i32, finished: &Timestamp) -> io::Result<()> {
    let tmp = state.join(state_files::EXIT_TMP);
    let mut f = File::create(&tmp)?;
    f.write_all(format!("{code}\n{}\n", finished.rfc3339()).as_bytes())?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, state.join(state_files::EXIT))?;
    // The rename itself is durable only once the directory is synced.
    File::open(state)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_docker() {
        // status words as the kernel encodes them
        assert_eq!(code(3 << 8), 3);
        assert_eq!(code(0), 0);
        assert_eq!(code(libc::SIGKILL), 137);
        assert_eq!(code(libc::SIGTERM | 0x80), 143); // with core-dump bit
    }

    #[test]
    fn exit_file_has_code_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let t = Timestamp { secs: 0, nanos: 1 };
        write_file(dir.path(), 137, &t).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("exit")).unwrap(),
            "137\n1970-01-01T00:00:00.000000001Z\n"
        );
        assert!(!dir.path().join("exit.tmp").exists());
    }
}
