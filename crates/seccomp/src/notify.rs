//! Handing a notify fd to a seccomp agent: the runtime spec's `listenerPath` protocol.
//!
//! The runtime connects to the agent's unix stream socket, sends the container process state
//! as JSON with the notify fd attached by `SCM_RIGHTS`, and closes the connection. One state
//! per connection.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Name of the notify fd in [`ContainerProcessState::fds`].
pub const SECCOMP_FD_NAME: &str = "seccompFd";

/// The container process state sent to `listenerPath` (runtime spec, config-linux.md
/// "The Container Process State").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerProcessState {
    /// Version of the runtime spec the message follows.
    pub oci_version: String,
    /// Names of the fds attached to the message, in `SCM_RIGHTS` order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fds: Vec<String>,
    /// The container process as the runtime sees it.
    pub pid: i32,
    /// `listenerMetadata` of the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// The container's state.
    pub state: oci_spec::runtime::State,
}

impl ContainerProcessState {
    /// The state for one notify fd (`fds: ["seccompFd"]`).
    pub fn new(pid: i32, metadata: Option<String>, state: oci_spec::runtime::State) -> Self {
        Self {
            oci_version: oci_spec::runtime::VERSION.to_owned(),
            fds: vec![SECCOMP_FD_NAME.to_owned()],
            pid,
            metadata,
            state,
        }
    }

    /// The JSON body for [`send_to_listener`].
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self).map_err(Error::SerializeState)
    }
}

/// Send the notify fd to `listener_path` (a unix stream socket) with SCM_RIGHTS together with the
/// container process state JSON as the OCI runtime spec describes for listenerPath (the message
/// body is the state: ociVersion, fds ["seccompFd"], pid, metadata from listenerMetadata, state object).
///
/// `state_json` is sent as is (build it with [`ContainerProcessState::to_json`]). The fd rides
/// on the first `sendmsg`; a body the socket does not take at once follows in further calls
/// without it, as the spec allows. The connection is closed on return.
pub fn send_to_listener(
    listener_path: &Path,
    fd: BorrowedFd<'_>,
    state_json: &[u8],
) -> Result<(), Error> {
    let stream = UnixStream::connect(listener_path).map_err(|source| Error::ConnectListener {
        path: listener_path.to_owned(),
        source,
    })?;
    let fds = [fd.as_raw_fd()];
    let with_fd = [ControlMessage::ScmRights(&fds)];
    let mut sent = 0;
    loop {
        let cmsgs: &[ControlMessage<'_>] = if sent == 0 { &with_fd } else { &[] };
        match sendmsg::<()>(
            stream.as_raw_fd(),
            &[IoSlice::new(&state_json[sent..])],
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => sent += n,
            Err(Errno::EINTR) => continue,
            Err(source) => {
                return Err(Error::SendToListener {
                    path: listener_path.to_owned(),
                    source,
                })
            }
        }
        if sent >= state_json.len() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixListener;

    use super::*;
    use crate::harness::receive;

    fn state() -> oci_spec::runtime::State {
        serde_json::from_str(
            r#"{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":4422,"bundle":"/b",
                "annotations":{"k":"v"}}"#,
        )
        .unwrap()
    }

    #[test]
    fn process_state_has_the_spec_shape() {
        let json = ContainerProcessState::new(4422, Some("MKNOD=/dev/null".into()), state())
            .to_json()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["ociVersion"], oci_spec::runtime::VERSION);
        assert_eq!(v["fds"], serde_json::json!(["seccompFd"]));
        assert_eq!(v["pid"], 4422);
        assert_eq!(v["metadata"], "MKNOD=/dev/null");
        assert_eq!(v["state"]["id"], "c1");
        assert_eq!(v["state"]["status"], "creating");
        let none = ContainerProcessState::new(1, None, state())
            .to_json()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&none).unwrap();
        assert!(v.get("metadata").is_none());
    }

    #[test]
    fn sends_body_and_fd_then_closes() {
        let dir = std::env::temp_dir().join(format!("berth-seccomp-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let file = std::fs::File::open("/proc/self/status").unwrap();
        // Larger than a socket buffer, to exercise follow-up sendmsg calls.
        let body = vec![b'x'; 512 * 1024];
        let sender = {
            let path = path.clone();
            let body = body.clone();
            let fd = file.as_fd().try_clone_to_owned().unwrap();
            std::thread::spawn(move || send_to_listener(&path, fd.as_fd(), &body))
        };
        let (got, fds) = receive(&listener);
        sender.join().unwrap().unwrap();
        assert_eq!(got.len(), body.len());
        assert_eq!(fds.len(), 1);
        let mut passed = std::fs::File::from(fds.into_iter().next().unwrap());
        let mut text = String::new();
        passed.read_to_string(&mut text).unwrap();
        assert!(text.contains("Pid:"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_listener_is_a_connect_error() {
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let err = send_to_listener(Path::new("/nonexistent/berth.sock"), file.as_fd(), b"{}")
            .unwrap_err();
        assert!(matches!(err, Error::ConnectListener { .. }));
        assert_eq!(
            err.to_string(),
            "connect to seccomp listener /nonexistent/berth.sock"
        );
    }

    #[test]
    fn notify_fd_reaches_the_agent_which_answers_the_syscall() {
        use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags, ScmpSyscall};
        use nix::sys::wait::WaitStatus;

        use crate::harness::{assert_success, in_child, sys};

        let dir = std::env::temp_dir().join(format!("berth-seccomp-agent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let filter = crate::compile_json(
            format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"{}","listenerMetadata":"meta",
                    "flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV","SECCOMP_FILTER_FLAG_TSYNC"],
                    "syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}}]}}"#,
                path.display()
            )
            .as_bytes(),
        )
        .unwrap();
        assert!(filter.uses_notify());
        let state_json = ContainerProcessState::new(
            4422,
            filter.listener_metadata().map(str::to_owned),
            state(),
        )
        .to_json()
        .unwrap();

        let agent = std::thread::spawn(move || {
            let (body, fds) = receive(&listener);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["fds"], serde_json::json!([SECCOMP_FD_NAME]));
            assert_eq!(v["metadata"], "meta");
            assert_eq!(fds.len(), 1);
            let fd = fds[0].as_raw_fd();
            let req = ScmpNotifReq::receive(fd).unwrap();
            assert_eq!(req.data.syscall, ScmpSyscall::from_name("getppid").unwrap());
            ScmpNotifResp::new_val(req.id, 4242, ScmpNotifRespFlags::empty())
                .respond(fd)
                .unwrap();
        });
        let status = in_child(&filter, |fd| {
            let Some(fd) = fd else { return 1 };
            if send_to_listener(&path, fd.as_fd(), &state_json).is_err() {
                return 2;
            }
            drop(fd);
            i32::from(sys(libc::SYS_getppid, [0; 6]) != Ok(4242)) * 3
        });
        if !matches!(status, WaitStatus::Exited(_, 0)) {
            // Unblock an agent still waiting for the child's connection.
            let _ = UnixStream::connect(&path);
        }
        let agent = agent.join();
        assert_success(status);
        agent.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
