//! `start`: releases a created container's init, which then execs the user's program.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::state::{StateRoot, Status, START_SOCKET};

pub fn start(root: &StateRoot, id: &str) -> Result<()> {
    crate::timing::mark("start: begin");
    let c = Container::load(root, id)?;
    c.require(&[Status::Created], "only a created container can be started")?;
    let dir = root.dir(id);
    let dir_file = std::fs::File::open(&dir).map_err(|e| Error::io("open", &dir, e))?;
    let path = super::socket_path(&dir, Some(&dir_file));
    let mut conn = UnixStream::connect(&path).map_err(|e| Error::io("connect to the container's init", &path, e))?;
    conn.write_all(b"s").map_err(|e| Error::io("signal the container's init", &path, e))?;
    // The connection closes when init's execve succeeds (it is close-on-exec); anything
    // written before that is the reason exec failed.
    let mut msg = String::new();
    let _ = conn.read_to_string(&mut msg);
    // Removing the socket is what marks the container started (see State::status).
    let _ = std::fs::remove_file(dir.join(START_SOCKET));
    crate::timing::mark("start: init exec'd");
    if !msg.is_empty() {
        return Err(Error::Init(msg));
    }
    let state = serde_json::to_vec(&c.state.to_oci_json(Status::Running)).expect("json");
    crate::hooks::run_all_warn(c.state.config.hooks().as_ref().and_then(|h| h.poststart().as_ref()), &state);
    Ok(())
}
