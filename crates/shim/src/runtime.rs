//! Invoking the OCI runtime: `create` (watched until it exits, serving the console
//! socket meanwhile) and `start` (spawned, its result collected when it is reaped).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::args::Args;
use crate::console::{self, ConsoleSocket};
use crate::sigchld::Sigchld;
use crate::stdio::ContainerIo;
use crate::{exit, state_files, sys};

#[derive(Debug)]
pub enum Error {
    /// The runtime could not be executed at all.
    Spawn { runtime: PathBuf, source: io::Error },
    /// `create` failed; the runtime's own message (or its exit status).
    Failed(String),
    /// Something of ours around it.
    Io { op: String, source: io::Error },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spawn { runtime, source } => {
                write!(f, "run runtime {}: {source}", runtime.display())
            }
            Error::Failed(message) => f.write_str(message),
            Error::Io { op, source } => write!(f, "{op}: {source}"),
        }
    }
}

fn io_err(op: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Io {
        op: op.into(),
        source,
    }
}

/// A created container and the shim's ends of its stdio.
pub struct Created {
    pub init_pid: libc::pid_t,
    /// The pty master (tty).
    pub master: Option<File>,
    pub stdout: Option<File>,
    /// The container's stderr (no tty).
    pub stderr: Option<File>,
    pub stdin: Option<File>,
    /// What arrived on the stderr pipe while `create` ran: container output by
    /// definition (normally nothing, since the container has not started yet).
    pub early_stderr: Vec<u8>,
}

/// How long we wait for the runtime to send the pty once it connected.
const CONSOLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of the runtime's error output we keep.
const MAX_ERROR_OUTPUT: usize = 64 * 1024;

/// Runs `runtime create` and waits for it, serving the console socket meanwhile.
pub fn create(args: &Args, io: ContainerIo, sigchld: &Sigchld) -> Result<Created, Error> {
    let console = if args.tty {
        let path = args.state.join(state_files::CONSOLE_SOCKET);
        Some(
            ConsoleSocket::listen(&path)
                .map_err(io_err(format!("listen on {}", path.display())))?,
        )
    } else {
        None
    };
    let pid_file = args.state.join(state_files::INIT_PID);
    // A stale pid file from an earlier run of this container must not be believed.
    let _ = fs::remove_file(&pid_file);

    let mut cmd = runtime_command(args);
    cmd.arg("create")
        .arg("--bundle")
        .arg(&args.bundle)
        .arg("--pid-file")
        .arg(&pid_file);
    if args.tty {
        cmd.arg("--console-socket")
            .arg(args.state.join(state_files::CONSOLE_SOCKET));
    }
    cmd.arg(&args.id);
    let ContainerIo {
        runtime_side: [r_in, r_out, r_err],
        stdout,
        stderr,
        stdin,
    } = io;
    cmd.stdin(Stdio::from(r_in))
        .stdout(Stdio::from(r_out))
        .stderr(Stdio::from(r_err));
    let child = cmd.spawn().map_err(|source| Error::Spawn {
        runtime: args.runtime.clone(),
        source,
    })?;
    let pid = child.id() as libc::pid_t;
    // Our copies of the container's ends must go, or we would never see EOF on them.
    drop(cmd);
    // We reap it ourselves (waitpid), as every other child.
    drop(child);

    let mut master = None;
    let mut errors = Vec::new();
    let mut stderr_eof = false;
    let status = loop {
        sigchld.clear();
        stderr_eof |= read_available(&stderr, &mut errors);
        if let Some(console) = &console {
            if master.is_none() {
                master = receive_master(console)?;
            }
        }
        if let Some(reaped) = sys::reap(pid) {
            break reaped.status;
        }
        let mut fds = vec![sys::pollfd(sigchld.fd(), libc::POLLIN)];
        if !stderr_eof {
            // (at EOF it would be readable for ever: poll it no more)
            fds.push(sys::pollfd(stderr.as_raw_fd(), libc::POLLIN));
        }
        if let (Some(console), None) = (&console, &master) {
            fds.push(sys::pollfd(console.fd(), libc::POLLIN));
        }
        // Every source is re-checked at the top; the timeout only guards against a
        // lost wake-up.
        let _ = sys::poll(&mut fds, 1000);
    };
    let _ = read_available(&stderr, &mut errors);
    if let (Some(console), None) = (&console, &master) {
        // It may have connected and sent the pty just before exiting.
        master = receive_master(console)?;
    }

    if status != 0 {
        return Err(Error::Failed(failure_message("create", &errors, status)));
    }
    if args.tty && master.is_none() {
        return Err(Error::Failed(
            "runtime create did not send a terminal to the console socket".into(),
        ));
    }
    let init_pid = read_pid(&pid_file)?;
    let (stderr, early_stderr) = if args.tty {
        (None, Vec::new())
    } else {
        (Some(stderr), errors)
    };
    if let Some(m) = &master {
        sys::set_nonblocking(m).map_err(io_err("set pty master non-blocking"))?;
    }
    Ok(Created {
        init_pid,
        master,
        stdout,
        stderr,
        stdin,
        early_stderr,
    })
}

fn runtime_command(args: &Args) -> Command {
    let mut cmd = Command::new(&args.runtime);
    cmd.arg("--root").arg(&args.runtime_root);
    cmd
}

fn receive_master(console: &ConsoleSocket) -> Result<Option<File>, Error> {
    let Some(conn) = console
        .accept()
        .map_err(io_err("accept on console socket"))?
    else {
        return Ok(None);
    };
    conn.set_nonblocking(false)
        .and_then(|()| conn.set_read_timeout(Some(CONSOLE_TIMEOUT)))
        .map_err(io_err("configure console connection"))?;
    console::recv_fd(&conn).map_err(io_err("receive the pty master"))
}

/// Reads what a non-blocking pipe holds; true at EOF.
fn read_available(pipe: &File, into: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match (&*pipe).read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                let room = MAX_ERROR_OUTPUT.saturating_sub(into.len());
                into.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// The runtime's last non-empty line of output, or its exit status if it said nothing.
fn failure_message(command: &str, output: &[u8], status: libc::c_int) -> String {
    let text = String::from_utf8_lossy(output);
    match text.lines().map(str::trim).rfind(|l| !l.is_empty()) {
        Some(line) => line.to_owned(),
        None if libc::WIFSIGNALED(status) => format!(
            "runtime {command} was killed by signal {}",
            libc::WTERMSIG(status)
        ),
        None => format!(
            "runtime {command} failed with exit status {}",
            exit::code(status)
        ),
    }
}

fn read_pid(path: &std::path::Path) -> Result<libc::pid_t, Error> {
    let text = fs::read_to_string(path).map_err(io_err(format!("read {}", path.display())))?;
    text.trim()
        .parse()
        .ok()
        .filter(|&pid: &libc::pid_t| pid > 0)
        .ok_or_else(|| Error::Failed(format!("invalid pid {:?} in {}", text, path.display())))
}

/// A running `runtime start`.
pub struct Start {
    pub pid: libc::pid_t,
    /// Its stdout and stderr, read once it has exited.
    output: File,
}

impl Start {
    pub fn spawn(args: &Args) -> io::Result<Start> {
        let (output, write) = sys::pipe()?;
        sys::set_nonblocking(&output)?;
        let mut cmd = runtime_command(args);
        cmd.arg("start")
            .arg(&args.id)
            .stdin(Stdio::null())
            .stdout(Stdio::from(write.try_clone()?))
            .stderr(Stdio::from(write));
        let child = cmd.spawn()?;
        Ok(Start {
            pid: child.id() as libc::pid_t,
            output,
        })
    }

    /// The reply to the `start` requests, once it has been reaped with `status`.
    pub fn result(self, status: libc::c_int) -> Result<(), String> {
        if status == 0 {
            return Ok(());
        }
        let mut output = Vec::new();
        let _ = read_available(&self.output, &mut output);
        Err(failure_message("start", &output, status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_message_is_the_last_nonempty_line() {
        assert_eq!(
            failure_message(
                "create",
                b"warning: x\nberth-runtime: error: no such file\n\n  \n",
                256
            ),
            "berth-runtime: error: no such file"
        );
        assert_eq!(
            failure_message("create", b"", 2 << 8),
            "runtime create failed with exit status 2"
        );
        assert_eq!(
            failure_message("start", b"", libc::SIGKILL),
            "runtime start was killed by signal 9"
        );
    }
}
