//! The container's stdio, made before `runtime create`.
//!
//! OCI runtimes hand their own stdio to the container process (runc's "pass-through"
//! mode), so whatever `create` is started with is what the container gets. Without a tty
//! that is our pipes; with one, the runtime makes a pty and sends us its master, and its
//! own stdout/stderr only carry its error messages.

use std::fs::File;
use std::io;

use crate::args::Args;
use crate::sys;

pub struct ContainerIo {
    /// `runtime create`'s stdin, stdout and stderr (consumed when it is spawned).
    pub runtime_side: [File; 3],
    /// Our read end of the container's stdout (no tty).
    pub stdout: Option<File>,
    /// Our read end of the container's stderr (no tty), or of the runtime's error output
    /// (tty). Either way, what the runtime says while `create` runs arrives here.
    pub stderr: File,
    /// Our write end of the container's stdin (no tty, `--stdin`).
    pub stdin: Option<File>,
}

#[derive(Debug)]
pub struct Error {
    what: &'static str,
    source: io::Error,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

fn ctx(what: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |source| Error { what, source }
}

impl ContainerIo {
    pub fn new(args: &Args) -> Result<ContainerIo, Error> {
        let null = || sys::dev_null().map_err(ctx("open /dev/null"));
        let (stderr, stderr_w) = sys::pipe().map_err(ctx("create stderr pipe"))?;
        sys::set_nonblocking(&stderr).map_err(ctx("set stderr pipe non-blocking"))?;
        if args.tty {
            let stdout_w = stderr_w.try_clone().map_err(ctx("duplicate error pipe"))?;
            return Ok(ContainerIo {
                runtime_side: [null()?, stdout_w, stderr_w],
                stdout: None,
                stderr,
                stdin: None,
            });
        }
        let (stdout, stdout_w) = sys::pipe().map_err(ctx("create stdout pipe"))?;
        sys::set_nonblocking(&stdout).map_err(ctx("set stdout pipe non-blocking"))?;
        let (stdin_r, stdin) = if args.stdin {
            let (r, w) = sys::pipe().map_err(ctx("create stdin pipe"))?;
            sys::set_nonblocking(&w).map_err(ctx("set stdin pipe non-blocking"))?;
            (r, Some(w))
        } else {
            (null()?, None)
        };
        Ok(ContainerIo {
            runtime_side: [stdin_r, stdout_w, stderr_w],
            stdout: Some(stdout),
            stderr,
            stdin,
        })
    }
}
