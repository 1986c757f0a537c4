//! berth-shim: the per-container supervisor.
//!
//! berthd spawns one `berth-shim` per container. The shim owns exactly what must survive
//! the daemon: the container's stdio (pipes or the pty master), its json-file log, and
//! its exit status. `kill -9 berthd` leaves every container running, logging and
//! attachable; a restarted daemon reconnects through the control socket.
//!
//! The shim knows nothing of images, HTTP, networks or the daemon's state: it is given a
//! ready OCI bundle and an OCI runtime with runc's command line, and it speaks the small
//! line protocol below. It never runs `runtime delete` (the daemon does, after checking
//! for an OOM kill). It is std + libc only, single-threaded, and idles well under 1 MB of
//! resident memory.
//!
//! # Command line
//!
//! ```text
//! berth-shim --id ID --bundle DIR --state DIR --runtime PATH --runtime-root DIR
//!            [--log FILE] [--log-max-size BYTES] [--log-max-files N]
//!            [--tty] [--stdin] [--stdin-once]
//! ```
//!
//! `--flag=value` is accepted as well. The runtime is run as
//! `PATH --root RUNTIME_ROOT create --bundle BUNDLE --pid-file STATE/init.pid
//! [--console-socket STATE/console.sock] ID` and later `PATH --root RUNTIME_ROOT start ID`.
//!
//! # Start-up
//!
//! The process the daemon spawns (stdin/stdout `/dev/null`, stderr a pipe) forks and
//! waits on a readiness pipe. The child calls `setsid()`, becomes a child subreaper (the
//! container's init is reparented to it when `runtime create` exits), points its own
//! stdio at `/dev/null` (so the daemon's stderr pipe reaches EOF), binds
//! `STATE/shim.sock` and runs `runtime create`. Then:
//!
//! - create succeeded: the spawned process exits 0; the shim is listening, the container
//!   is "created" and stays so until a `start` request;
//! - create failed: the spawned process writes ONE line to stderr (the last non-empty
//!   line of the runtime's own error output, or the shim's own error) and exits 1; the
//!   shim child removes its sockets and exits.
//!
//! Before anything, fds above 2 inherited from the daemon are closed (they would live in
//! the container otherwise). A `shim.sock` that a live shim answers on is refused
//! (`listen on STATE/shim.sock: another shim is listening there`); a stale one is
//! replaced.
//!
//! The container's stdio: with `--tty`, the pty whose master the runtime sends over
//! `STATE/console.sock` (SCM_RIGHTS) during create; without, pipes for stdout and stderr,
//! and for stdin a pipe if `--stdin` (else `/dev/null`). The runtime's own error output
//! is what arrives on the stderr pipe (tty: on a separate pipe) while create runs.
//!
//! # Control socket `STATE/shim.sock`
//!
//! A `SOCK_STREAM` unix socket, mode 0600. Each connection sends ONE request line
//! (ASCII, `\n`-terminated, at most 256 bytes) and gets:
//!
//! | request | reply |
//! |---|---|
//! | `start` | runs `runtime start ID`; `ok\n` or `error <message>\n` (the runtime's last non-empty line of output) |
//! | `attach <stdin> <stdout> <stderr>` (each `0`/`1`) | `ok\n`, then a raw stream (below) |
//! | `resize <height> <width>` | `ok\n`, `error no tty\n`, or `error set terminal size: ...\n` |
//! | `pid` | `pid <N>\n`: the container init's host pid (from `init.pid`) |
//! | `wait` | nothing until the init has exited, the log is flushed and `STATE/exit` written, then `exit <code>\n` |
//! | anything else | `error unknown request\n` (or `error invalid size`, `error invalid attach flag, want 0 or 1`, `error request too long`) |
//!
//! Every connection except `attach` is closed after its reply. Concurrent `start`s share
//! one `runtime start` and its answer; `start` after the init exited is
//! `error container has exited`. Exit codes are Docker's: the exit status, or 128 + the
//! signal number if the init was killed by a signal. Once the shim has exited the socket
//! is gone: a daemon that was not waiting reads `STATE/exit` instead.
//!
//! An attached connection receives, without a tty, Docker's multiplexed frames for the
//! requested streams (8-byte header `[stream, 0, 0, 0, len as u32 big-endian]`, stream 1
//! stdout, 2 stderr, then `len` bytes, at most 16 KiB per frame); with a tty, the raw
//! terminal output (when stdout or stderr was requested). Output produced before a client
//! attached is not replayed (the log has it). If `<stdin>` is 1 and the container has a
//! stdin (`--stdin`, or `--tty`: the pty), bytes the client sends (also right behind the
//! request line) are written to it. With `--stdin-once`, when the first client that
//! attached with stdin closes its input (EOF, e.g. `shutdown(SHUT_WR)`, or disconnects),
//! the container's stdin is closed (pipe: write end closed; tty: one `^D` written).
//! A client is dropped when it disconnects or when more than 256 KiB are queued for it:
//! a slow client never blocks the container or other clients. A client sending stdin
//! faster than the container reads it is simply not read from (64 KiB are buffered).
//! When the container has exited and its output is drained, attach connections are
//! closed.
//!
//! # Exit
//!
//! When the init exits, the shim drains the output (until EOF, at most 2 s: orphans may
//! hold the pipes), flushes the log, writes `STATE/exit` atomically
//! (`<code>\n<finish time, RFC3339 nano UTC>\n`, through `exit.tmp` + fsync + rename),
//! answers every `wait`, closes attached clients (after at most 1 s more to flush what is
//! queued for them), removes `shim.sock` and exits 0. It never runs `runtime delete`.
//! Until `start` is requested the container stays "created" and the shim just waits.
//! Other processes reparented to the shim (orphans of the container) are reaped.
//!
//! # Log
//!
//! `--log FILE` is Docker's json-file format, see [`log::json_file`]; rotation at
//! `--log-max-size` (default 20 MiB) keeping `--log-max-files` files (default 5; 1
//! truncates in place), see [`log::rotate`]. The file is opened in append mode. Records
//! are batched, one write(2) per read of container output (or per 64 KiB), always of
//! whole records: a reader never sees half a line (short of a full disk).
//!
//! # For the daemon
//!
//! - `STATE` holds `shim.sock` (while the shim lives), `init.pid`, `console.sock` (only
//!   during a tty create), `exit` (once the init has exited; `exit.tmp` while written).
//! - `STATE/shim.sock` and `STATE/console.sock` must fit a unix socket address (107
//!   bytes); keep `STATE` short.
//! - A restarted daemon: `shim.sock` answering → the shim is alive (re-`attach`, `wait`);
//!   no answer and `exit` present → the container exited, read the code there; neither →
//!   the shim died (killed) and the container's stdio with it.
//! - The shim is in its own session, reparented to the nearest child subreaper (usually
//!   pid 1). A daemon that is itself a subreaper gets shims back as children and must
//!   reap them. Under systemd, the daemon's unit must not kill its whole cgroup on stop
//!   (e.g. `KillMode=process`), or the shims die with it.
//!
//! # Memory
//!
//! One thread, one 16 KiB read buffer, queues that grow only while a client lags. The
//! binary is linked static-pie when glibc's archives are installed (see `build.rs`), and
//! the shim drops the page-table entries of clean file-backed pages after start-up and
//! after 2 s without events (`src/resident.rs`), so an idle shim's VmRSS is ~0.3-0.5 MB,
//! of which ~0.1 MB anonymous.

pub mod args;
mod client;
mod console;
mod control;
mod daemonize;
mod event_loop;
pub mod exit;
pub mod log;
mod resident;
mod runtime;
mod sigchld;
mod stdio;
mod sys;
pub mod time;

use std::fs;

use crate::args::Args;

/// The names of the files the shim keeps in its `--state` directory.
pub mod state_files {
    /// The control socket.
    pub const SOCKET: &str = "shim.sock";
    /// The container init's pid, written by the runtime (`--pid-file`).
    pub const INIT_PID: &str = "init.pid";
    /// Where the runtime sends the pty master (`--console-socket`), tty only.
    pub const CONSOLE_SOCKET: &str = "console.sock";
    /// `<code>\n<finish time>\n`, written when the init has exited.
    pub const EXIT: &str = "exit";
    /// The exit file while it is written.
    pub const EXIT_TMP: &str = "exit.tmp";
}

/// The whole program; returns the process exit code.
pub fn main() -> i32 {
    daemonize::close_inherited_fds();
    let args = match args::parse(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("berth-shim: {e}");
            return 2;
        }
    };
    // Only the forked child returns; the spawned process exits when the child reports.
    let readiness = match daemonize::daemonize() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("berth-shim: {e}");
            return 1;
        }
    };
    match prepare(&args) {
        Ok(shim) => {
            // Trimmed before the daemon hears "ready", so it never measures start-up.
            resident::trim();
            readiness.ready();
            shim.run()
        }
        Err(e) => {
            readiness.fail(&e);
            1
        }
    }
}

/// Everything up to "created": the control socket, the container's stdio, `runtime create`.
fn prepare(args: &Args) -> Result<event_loop::Shim, String> {
    let sigchld = sigchld::install().map_err(|e| format!("install SIGCHLD handler: {e}"))?;
    let socket_path = args.state.join(state_files::SOCKET);
    let listener = control::listen(&socket_path).map_err(|e| e.to_string())?;
    // From here on the socket is ours: a failure removes it (the console socket removes
    // itself).
    let shim = create_container(args, listener, sigchld);
    if shim.is_err() {
        let _ = fs::remove_file(&socket_path);
    }
    shim
}

fn create_container(
    args: &Args,
    listener: std::os::unix::net::UnixListener,
    sigchld: sigchld::Sigchld,
) -> Result<event_loop::Shim, String> {
    // Before create: once the container exists, failing would leave it without a shim.
    let logger = match &args.log {
        Some(path) => Some(
            log::Logger::open(path, args.log_max_size, args.log_max_files)
                .map_err(|e| format!("open log {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let io = stdio::ContainerIo::new(args).map_err(|e| e.to_string())?;
    let created = runtime::create(args, io, &sigchld).map_err(|e| e.to_string())?;
    Ok(event_loop::Shim::new(
        args.clone(),
        listener,
        sigchld,
        created,
        logger,
    ))
}
