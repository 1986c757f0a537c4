//! Attaching to a container and waiting for it, the flow `run`, `start -a` and `attach`
//! share (and the order docker uses, so nothing the container writes is lost): attach
//! (hijacked) → `wait` registered (its answer's headers arrive at once; the body when the
//! condition is met; a daemon slower to send them gets 500 ms) → start → with a TTY, raw mode and resizes → copy streams → the exit
//! code from the wait.

use berth_api_client::containers::AttachStreams;
use berth_api_client::Client;

use crate::commands::container::start_error_code;
use crate::error::CliError;
use crate::stdio::signals::{self, ResizeTarget};
use crate::stdio::streams::{self, End};
use crate::stdio::terminal::{self, RawMode};

/// What to attach to and how.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub tty: bool,
    pub streams: AttachStreams,
    pub detach_keys: Option<String>,
    pub sig_proxy: bool,
    /// `next-exit` or `removed` (for `--rm`).
    pub wait_condition: &'static str,
    /// Start the container once attached (`run`, `start -a`), or not (`attach`).
    pub start: bool,
}

/// Runs the session; the container's exit code, or `None` when the user detached.
pub async fn run(client: &Client, cx: &str, s: Session) -> Result<Option<i64>, CliError> {
    let attached = s.streams.stdin || s.streams.stdout || s.streams.stderr;
    let io = if attached {
        Some(
            client
                .container_attach(&s.id, s.streams, s.detach_keys.as_deref())
                .await
                .map_err(|e| CliError::api_code(125, cx, e))?,
        )
    } else {
        None
    };
    // The wait must be registered before the container starts, or a quick exit is
    // missed. dockerd answers the headers as soon as it is (then the body at exit); a
    // daemon that sends nothing until exit still gets the request first, and is given a
    // moment to take it before start.
    let mut wait = {
        let c = client.clone();
        let id = s.id.clone();
        let cond = s.wait_condition;
        tokio::spawn(async move { c.container_wait_request(&id, Some(cond)).await })
    };
    let mut wait_resp = None;
    match tokio::time::timeout(std::time::Duration::from_millis(500), &mut wait).await {
        Ok(Ok(Ok(resp))) => wait_resp = Some(resp),
        Ok(Ok(Err(e))) => return Err(CliError::api_code(125, cx, e)),
        Ok(Err(e)) => return Err(CliError::failed(cx, format!("wait: {e}"))),
        Err(_) => {}
    }
    // Raw mode before start so the first bytes the container reads are already raw.
    let raw = if s.tty && s.streams.stdin {
        RawMode::enable()
    } else {
        None
    };
    if s.start {
        if let Err(e) = client.container_start(&s.id).await {
            drop(raw);
            let code = start_error_code(&e.to_string());
            return Err(CliError::api_code(code, cx, e));
        }
    }
    let mut tasks = Vec::new();
    if s.tty && terminal::stdout_is_tty() {
        tasks.push(signals::resize(
            client.clone(),
            ResizeTarget::Container(s.id.clone()),
        ));
    }
    if s.sig_proxy && !s.tty {
        tasks.extend(signals::proxy(client.clone(), s.id.clone()));
    }
    let keys =
        streams::detach_sequence(s.detach_keys.as_deref()).map_err(|e| CliError::usage(cx, e))?;
    let end = match io {
        Some(io) => streams::pump(io, s.tty, s.streams.stdin, keys).await,
        None => Ok(End::Output),
    };
    drop(raw);
    for t in &tasks {
        t.abort();
    }
    match end {
        Ok(End::Detached) => return Ok(None),
        Ok(End::Output) => {}
        // Our reader went away (`berth run … | head`): stop as a process killed by
        // SIGPIPE would, without a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(CliError::exit(141)),
        Err(e) => return Err(CliError::failed(cx, e)),
    }
    let wait_resp = match wait_resp {
        Some(r) => r,
        None => wait
            .await
            .map_err(|e| CliError::failed(cx, format!("wait: {e}")))?
            .map_err(|e| CliError::api_code(125, cx, e))?,
    };
    let code = Client::container_wait_result(wait_resp)
        .await
        .map_err(|e| CliError::api_code(125, cx, e))?;
    Ok(Some(code))
}
