//! The shim's single-threaded poll(2) loop: control connections, the container's output
//! (to the log and to attached clients), its stdin, and SIGCHLD.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use crate::args::Args;
use crate::client::{retry_later, Client, Role};
use crate::control::{self, Request};
use crate::log::{LineSplitter, Logger, Stream};
use crate::runtime::{Created, Start};
use crate::sigchld::Sigchld;
use crate::time::Timestamp;
use crate::{exit, resident, state_files, sys};

/// One read of container output or client input (also the largest attach frame).
pub const READ_BUF: usize = 16 * 1024;
/// What may be queued for the container's stdin before clients are no longer read.
const STDIN_QUEUE_MAX: usize = 64 * 1024;
/// How long output is drained after the init exited (orphans may hold the pipes open).
const DRAIN: Duration = Duration::from_secs(2);
/// How long attached clients get to take what is queued for them before we exit.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// After this long without events, the pages touched meanwhile are given back (see
/// [`resident`]); an idle shim then sleeps in poll(2) with no timer.
const IDLE_TRIM: Duration = Duration::from_secs(2);
/// How long to leave the listener alone after accept(2) failed with EMFILE or the like.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// A stream of container output: a pipe, or the pty master.
struct Output {
    file: File,
    stream: Stream,
    splitter: LineSplitter,
    eof: bool,
}

/// The container's stdin: a pipe's write end, or the pty master.
struct Stdin {
    file: File,
    tty: bool,
    queue: Vec<u8>,
    /// Close once the queue is written (`--stdin-once`, pipe).
    close_when_flushed: bool,
}

struct Exited {
    code: i32,
    time: Timestamp,
    drain_until: Instant,
}

/// A created container and everything the shim holds for it, until it has exited.
pub struct Shim {
    args: Args,
    listener: Option<UnixListener>,
    sigchld: Sigchld,
    outputs: Vec<Output>,
    stdin: Option<Stdin>,
    /// For resize (tty).
    master: Option<File>,
    clients: Vec<Client>,
    logger: Option<Logger>,
    init_pid: libc::pid_t,
    start: Option<Start>,
    exited: Option<Exited>,
    /// Set once the exit is recorded: we leave when clients are gone or at this time.
    closing_until: Option<Instant>,
    stdin_once_claimed: bool,
    /// When to trim the resident set, if something happened since the last trim.
    trim_at: Option<Instant>,
    /// accept(2) failed for want of resources: don't poll the listener until then.
    accept_paused_until: Option<Instant>,
    buf: Vec<u8>,
}

impl Shim {
    pub fn new(
        args: Args,
        listener: UnixListener,
        sigchld: Sigchld,
        created: Created,
        logger: Option<Logger>,
    ) -> Shim {
        let has_stdin = args.stdin || args.tty;
        let mut outputs = Vec::new();
        let mut stdin = None;
        let mut master = None;
        let output = |file, stream| Output {
            file,
            stream,
            splitter: LineSplitter::default(),
            eof: false,
        };
        if let Some(m) = created.master {
            // Three handles of one pty master: reading, writing, resizing. If a dup fails
            // (EMFILE at start-up?) the shim goes on without that function.
            if let Ok(reader) = m.try_clone() {
                outputs.push(output(reader, Stream::Stdout));
            }
            if has_stdin {
                if let Ok(writer) = m.try_clone() {
                    stdin = Some(Stdin {
                        file: writer,
                        tty: true,
                        queue: Vec::new(),
                        close_when_flushed: false,
                    });
                }
            }
            master = Some(m);
        }
        if let Some(f) = created.stdout {
            outputs.push(output(f, Stream::Stdout));
        }
        if let Some(f) = created.stderr {
            outputs.push(output(f, Stream::Stderr));
        }
        if let Some(f) = created.stdin {
            stdin = Some(Stdin {
                file: f,
                tty: false,
                queue: Vec::new(),
                close_when_flushed: false,
            });
        }
        let mut shim = Shim {
            args,
            listener: Some(listener),
            sigchld,
            outputs,
            stdin,
            master,
            clients: Vec::new(),
            logger,
            init_pid: created.init_pid,
            start: None,
            exited: None,
            closing_until: None,
            stdin_once_claimed: false,
            // Start-up was trimmed already; what the first rounds touch goes later.
            trim_at: Some(Instant::now() + IDLE_TRIM),
            accept_paused_until: None,
            buf: vec![0; READ_BUF],
        };
        if !created.early_stderr.is_empty() {
            if let Some(i) = shim.outputs.iter().position(|o| o.stream == Stream::Stderr) {
                shim.output_data(i, &created.early_stderr);
            }
        }
        shim
    }

    /// Runs until the container has exited and everything is handed over; the exit code.
    pub fn run(mut self) -> i32 {
        // A wake-up may have been missed between create and now (the init may be gone).
        self.reap();
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut slots: Vec<Slot> = Vec::new();
        loop {
            self.after_events();
            if let Some(until) = self.closing_until {
                if self.clients.is_empty() || Instant::now() >= until {
                    return 0;
                }
            }
            fds.clear();
            slots.clear();
            self.poll_set(&mut fds, &mut slots);
            match sys::poll(&mut fds, self.timeout_ms()) {
                Ok(0) => {
                    if self.trim_at.is_some_and(|at| Instant::now() >= at) {
                        self.trim_at = None;
                        resident::trim();
                    }
                    continue;
                }
                Ok(_) => self.trim_at = Some(Instant::now() + IDLE_TRIM),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // EINVAL/ENOMEM: nothing sensible to do but retry after a breath.
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
            for (pfd, slot) in fds.iter().zip(&slots) {
                if pfd.revents != 0 {
                    self.handle(*slot, pfd.revents);
                }
            }
        }
    }

    fn poll_set(&self, fds: &mut Vec<libc::pollfd>, slots: &mut Vec<Slot>) {
        fds.push(sys::pollfd(self.sigchld.fd(), libc::POLLIN));
        slots.push(Slot::Sigchld);
        let paused = self
            .accept_paused_until
            .is_some_and(|until| Instant::now() < until);
        if let (Some(l), false) = (&self.listener, paused) {
            fds.push(sys::pollfd(l.as_raw_fd(), libc::POLLIN));
            slots.push(Slot::Listener);
        }
        // After finishing, outputs are gone; before, read them until EOF.
        for (i, o) in self.outputs.iter().enumerate() {
            fds.push(sys::pollfd(o.file.as_raw_fd(), libc::POLLIN));
            slots.push(Slot::Output(i));
        }
        if let Some(s) = &self.stdin {
            if !s.queue.is_empty() {
                fds.push(sys::pollfd(s.file.as_raw_fd(), libc::POLLOUT));
                slots.push(Slot::Stdin);
            }
        }
        let stdin_room = self
            .stdin
            .as_ref()
            .is_some_and(|s| s.queue.len() < STDIN_QUEUE_MAX);
        for (i, c) in self.clients.iter().enumerate() {
            let mut events = 0;
            let feeds_stdin =
                matches!(c.role, Role::Attach { stdin: true, .. }) && self.stdin.is_some();
            if !c.read_closed && !c.close_after_flush && (!feeds_stdin || stdin_room) {
                events |= libc::POLLIN;
            }
            if c.pending() > 0 {
                events |= libc::POLLOUT;
            }
            // Even with no events, POLLHUP tells us the client went away.
            fds.push(sys::pollfd(c.sock.as_raw_fd(), events));
            slots.push(Slot::Client(i));
        }
    }

    fn timeout_ms(&self) -> libc::c_int {
        let deadline = [
            self.closing_until,
            self.exited.as_ref().map(|e| e.drain_until),
            self.trim_at,
            self.accept_paused_until,
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(deadline) = deadline else {
            return -1;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        // round up, so we don't wake just before the deadline and spin
        (left.as_millis() as libc::c_int).saturating_add(1)
    }

    fn handle(&mut self, slot: Slot, revents: libc::c_short) {
        match slot {
            Slot::Sigchld => self.reap(),
            Slot::Listener => self.accept(),
            Slot::Output(i) => self.output_readable(i),
            Slot::Stdin => self.flush_stdin(),
            Slot::Client(i) => self.client_event(i, revents),
        }
    }

    /// Book-keeping after each round: drop finished clients and outputs, move on to the
    /// exit once output is drained.
    fn after_events(&mut self) {
        if self
            .accept_paused_until
            .is_some_and(|until| Instant::now() >= until)
        {
            self.accept_paused_until = None;
        }
        self.clients.retain(|c| !c.dead);
        if self.outputs.iter().any(|o| o.eof) {
            self.outputs.retain(|o| !o.eof);
        }
        if self.closing_until.is_none() {
            if let Some(e) = &self.exited {
                let drained = self.outputs.is_empty() && self.start.is_none();
                if drained || Instant::now() >= e.drain_until {
                    self.finish();
                    // finish() answered and closed clients: drop them now, or the loop
                    // would see them and sit out the whole close grace period.
                    self.clients.retain(|c| !c.dead);
                }
            }
        }
    }

    fn reap(&mut self) {
        self.sigchld.clear();
        while let Some(child) = sys::reap(-1) {
            if child.pid == self.init_pid && self.exited.is_none() {
                self.exited = Some(Exited {
                    code: exit::code(child.status),
                    time: Timestamp::now(),
                    drain_until: Instant::now() + DRAIN,
                });
                // Nobody reads it any more.
                self.stdin = None;
            } else if self.start.as_ref().is_some_and(|s| s.pid == child.pid) {
                if let Some(start) = self.start.take() {
                    let reply = match start.result(child.status) {
                        Ok(()) => b"ok\n".to_vec(),
                        Err(message) => control::error_line(&message),
                    };
                    for c in self.clients.iter_mut().filter(|c| c.role == Role::Start) {
                        c.reply(&reply);
                    }
                }
            }
            // Anything else is an orphan of the container reparented to us: reaped, done.
        }
    }

    fn accept(&mut self) {
        self.accept_paused_until = None;
        let Some(listener) = &self.listener else {
            return;
        };
        loop {
            match listener.accept() {
                Ok((sock, _)) => {
                    if sock.set_nonblocking(true).is_err() {
                        continue;
                    }
                    self.clients.push(Client::new(sock));
                }
                Err(e) if retry_later(&e) => return,
                // EMFILE and friends: the listener stays readable, so polling it again at
                // once would spin. Leave the connection queued and look again shortly.
                Err(_) => {
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_PAUSE);
                    return;
                }
            }
        }
    }

    fn output_readable(&mut self, i: usize) {
        let mut buf = std::mem::take(&mut self.buf);
        match (&self.outputs[i].file).read(&mut buf) {
            Ok(0) => self.output_eof(i),
            Ok(n) => self.output_data(i, &buf[..n]),
            Err(e) if retry_later(&e) => {}
            // EIO: the pty's last slave fd was closed, the terminal's way of saying EOF.
            Err(_) => self.output_eof(i),
        }
        self.buf = buf;
    }

    fn output_data(&mut self, i: usize, data: &[u8]) {
        let output = &mut self.outputs[i];
        let stream = output.stream;
        if let Some(logger) = &mut self.logger {
            let time = Timestamp::now();
            output
                .splitter
                .feed(data, |message| logger.message(stream, message, &time));
            logger.flush();
        }
        let tty = self.args.tty;
        let header = control::frame_header(stream, data.len());
        for c in &mut self.clients {
            let Role::Attach { stdout, stderr, .. } = c.role else {
                continue;
            };
            if tty {
                if stdout || stderr {
                    c.send(&[data]);
                }
            } else if (stream == Stream::Stdout && stdout) || (stream == Stream::Stderr && stderr) {
                c.send(&[&header, data]);
            }
        }
    }

    fn output_eof(&mut self, i: usize) {
        let output = &mut self.outputs[i];
        if let Some(logger) = &mut self.logger {
            let time = Timestamp::now();
            let stream = output.stream;
            output
                .splitter
                .finish(|message| logger.message(stream, message, &time));
            logger.flush();
        }
        output.eof = true;
    }

    fn write_stdin(&mut self, data: &[u8]) {
        let Some(stdin) = &mut self.stdin else {
            return;
        };
        stdin.queue.extend_from_slice(data);
        self.flush_stdin();
    }

    fn flush_stdin(&mut self) {
        let Some(stdin) = &mut self.stdin else {
            return;
        };
        let mut written = 0;
        let mut failed = false;
        while written < stdin.queue.len() {
            match (&stdin.file).write(&stdin.queue[written..]) {
                Ok(n) => written += n,
                Err(e) if retry_later(&e) => break,
                // EPIPE: the container closed its stdin (or exited).
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        stdin.queue.drain(..written);
        if stdin.queue.is_empty() && stdin.queue.capacity() > READ_BUF {
            stdin.queue = Vec::new();
        }
        if failed || (stdin.close_when_flushed && stdin.queue.is_empty()) {
            self.stdin = None;
        }
    }

    /// `--stdin-once`: the owner's input ended.
    fn close_stdin(&mut self) {
        let Some(stdin) = &mut self.stdin else {
            return;
        };
        if stdin.tty {
            // A pty has no EOF of its own; ^D at the line discipline is the terminal's
            // end of input (in canonical mode, the usual one).
            self.write_stdin(&[0x04]);
        } else {
            stdin.close_when_flushed = true;
            self.flush_stdin();
        }
    }

    fn client_event(&mut self, i: usize, revents: libc::c_short) {
        if revents & libc::POLLOUT != 0 {
            self.clients[i].flush();
        }
        let c = &self.clients[i];
        if c.dead {
            return;
        }
        let wants_input = !c.read_closed && !c.close_after_flush;
        if revents & libc::POLLIN != 0 && wants_input {
            self.client_readable(i);
        } else if revents & (libc::POLLHUP | libc::POLLERR) != 0 {
            self.client_input_closed(i);
            self.clients[i].dead = true;
        }
    }

    fn client_readable(&mut self, i: usize) {
        let mut buf = std::mem::take(&mut self.buf);
        match (&self.clients[i].sock).read(&mut buf) {
            Ok(0) => self.client_input_closed(i),
            Ok(n) => self.client_data(i, &buf[..n]),
            Err(e) if retry_later(&e) => {}
            Err(_) => {
                self.client_input_closed(i);
                self.clients[i].dead = true;
            }
        }
        self.buf = buf;
    }

    fn client_input_closed(&mut self, i: usize) {
        let c = &mut self.clients[i];
        if c.read_closed {
            return;
        }
        c.read_closed = true;
        match c.role {
            // Hung up before asking anything.
            Role::Request => c.dead = true,
            Role::Attach { stdin: true, .. } if c.stdin_once_owner => self.close_stdin(),
            _ => {}
        }
    }

    fn client_data(&mut self, i: usize, data: &[u8]) {
        match self.clients[i].role {
            Role::Request => {
                let c = &mut self.clients[i];
                let Some(newline) = data.iter().position(|&b| b == b'\n') else {
                    c.request.extend_from_slice(data);
                    if c.request.len() > control::MAX_REQUEST {
                        c.reply(b"error request too long\n");
                    }
                    return;
                };
                c.request.extend_from_slice(&data[..newline]);
                let line = std::mem::take(&mut c.request);
                self.request(i, &line);
                // A client may send stdin right behind its attach line.
                let rest = &data[newline + 1..];
                if !rest.is_empty() && self.clients[i].role != Role::Request {
                    self.client_data(i, rest);
                }
            }
            Role::Attach { stdin: true, .. } => self.write_stdin(data),
            // Input on other connections means nothing; it is read only to see EOF.
            _ => {}
        }
    }

    fn request(&mut self, i: usize, line: &[u8]) {
        let request = match Request::parse(line) {
            Ok(r) => r,
            Err(message) => return self.clients[i].reply(&control::error_line(message)),
        };
        let finished = self.closing_until.is_some();
        match request {
            Request::Start => {
                if self.exited.is_some() {
                    return self.clients[i].reply(b"error container has exited\n");
                }
                if self.start.is_none() {
                    match Start::spawn(&self.args) {
                        Ok(start) => self.start = Some(start),
                        Err(e) => {
                            let message =
                                format!("run runtime {} start: {e}", self.args.runtime.display());
                            return self.clients[i].reply(&control::error_line(&message));
                        }
                    }
                }
                // Answered when it is reaped (together with any concurrent `start`).
                self.clients[i].role = Role::Start;
            }
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                let c = &mut self.clients[i];
                c.role = Role::Attach {
                    stdin,
                    stdout,
                    stderr,
                };
                if stdin && self.args.stdin_once && !self.stdin_once_claimed {
                    self.stdin_once_claimed = true;
                    c.stdin_once_owner = true;
                }
                c.send(&[b"ok\n"]);
                if finished {
                    // Nothing more will come.
                    c.close_after_flush = true;
                    c.flush();
                }
            }
            Request::Resize { height, width } => {
                let reply = match &self.master {
                    None => b"error no tty\n".to_vec(),
                    Some(m) => match sys::set_window_size(m, height, width) {
                        Ok(()) => b"ok\n".to_vec(),
                        Err(e) => control::error_line(&format!("set terminal size: {e}")),
                    },
                };
                self.clients[i].reply(&reply);
            }
            Request::Pid => {
                let reply = format!("pid {}\n", self.init_pid);
                self.clients[i].reply(reply.as_bytes());
            }
            Request::Wait => match (&self.exited, finished) {
                (Some(e), true) => {
                    let reply = format!("exit {}\n", e.code);
                    self.clients[i].reply(reply.as_bytes());
                }
                // Until the log is flushed and the exit file written, a waiter waits:
                // what it reads after its answer must be complete.
                _ => self.clients[i].role = Role::Wait,
            },
        }
    }

    /// The init has exited and the output is drained (or the drain timed out).
    fn finish(&mut self) {
        let Some(exited) = &self.exited else {
            return;
        };
        let (code, time) = (exited.code, exited.time);
        for i in 0..self.outputs.len() {
            if !self.outputs[i].eof {
                self.output_eof(i);
            }
        }
        self.outputs.clear();
        // If this fails the daemon still gets the code from `wait`; nothing else to do.
        let _ = exit::write_file(&self.args.state, code, &time);
        let exit_line = format!("exit {code}\n");
        for c in &mut self.clients {
            match c.role {
                Role::Wait => c.reply(exit_line.as_bytes()),
                Role::Start => c.reply(b"error container exited while starting\n"),
                Role::Attach { .. } => {
                    c.close_after_flush = true;
                    c.flush();
                }
                Role::Request | Role::Done => {}
            }
        }
        self.listener = None;
        let _ = std::fs::remove_file(self.args.state.join(state_files::SOCKET));
        self.closing_until = Some(Instant::now() + CLOSE_GRACE);
    }
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Sigchld,
    Listener,
    Output(usize),
    Stdin,
    Client(usize),
}
