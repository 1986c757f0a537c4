//! `process.terminal`: the runtime hands the pty master to whoever listens on
//! `--console-socket` (SCM_RIGHTS), and the container's process runs on the slave.

use std::fs::File;
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use berth_test_support::{unique_id, Bundle, Runtime};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::json;

use crate::WAIT;

/// Accepts one connection on `listener` (within [`WAIT`]) and returns the one file
/// descriptor it sends with SCM_RIGHTS.
fn receive_fd(listener: &UnixListener) -> Result<OwnedFd, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + WAIT;
    let conn = loop {
        match listener.accept() {
            Ok((conn, _)) => break conn,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err("nobody connected to the console socket".into());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(format!("accept: {e}")),
        }
    };
    conn.set_nonblocking(false).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(WAIT))
        .map_err(|e| e.to_string())?;
    let mut name = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("recvmsg: {e}"))?;
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs().map_err(|e| format!("cmsgs: {e}"))? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            fds.extend(received);
        }
    }
    // SAFETY: the kernel installed these descriptors in our table for us to own.
    let mut owned: Vec<OwnedFd> = fds
        .into_iter()
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    match owned.len() {
        1 => Ok(owned.remove(0)),
        n => Err(format!("expected one fd over the console socket, got {n}")),
    }
}

/// Reads `master` until `done` holds for what was read, the slave side is closed (EIO),
/// or [`WAIT`] is over.
fn read_until(master: OwnedFd, done: impl Fn(&str) -> bool) -> String {
    let fd = master.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        libc::fcntl(
            fd,
            libc::F_SETFL,
            libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
        )
    };
    let mut file = File::from(master);
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !done(&String::from_utf8_lossy(&seen)) {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(_) => break, // EIO: every slave fd is closed
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn console_socket_receives_a_pty_master_of_the_configured_size() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("console.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let bundle = Bundle::new("terminal")
        .config_mut(|c| {
            c["process"]["terminal"] = json!(true);
            c["process"]["consoleSize"] = json!({"height": 30, "width": 100});
        })
        .args(&["sh", "-c", "tty; stty size; echo done"]);
    let rt = Runtime::new();
    let id = unique_id("terminal");

    let master = std::thread::scope(|s| {
        let receiver = s.spawn(|| receive_fd(&listener));
        rt.create_with(
            &bundle,
            &id,
            &["--console-socket", socket.to_str().unwrap()],
        )
        .ok();
        receiver.join().unwrap()
    })
    .unwrap_or_else(|e| panic!("no pty master from the runtime: {e}"));
    // SAFETY: isatty only inspects the descriptor, which we own.
    assert_eq!(unsafe { libc::isatty(master.as_raw_fd()) }, 1, "not a tty");

    rt.start(&id).ok();
    let seen = read_until(master, |s| s.contains("done"));
    let lines: Vec<&str> = seen.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert_eq!(lines, ["/dev/pts/0", "30 100", "done"], "{seen:?}");
    assert!(
        rt.wait_for_status(&id, "stopped", WAIT),
        "{:?}",
        rt.status(&id)
    );
    rt.delete(&id).ok();
}
