//! /containers/{id}/exec and /exec/{id}/...: create an exec instance, start it (hijacked,
//! or detached), resize its terminal, inspect its exit code.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bollard_stubs::models::ExecConfig;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::containers::parse_json;
use super::{hijack, Query};
use crate::container::exec::{self as cexec, Exec};
use crate::container::logs::frame;
use crate::daemon::Daemon;
use crate::error::{Error, Result};

type D = State<Arc<Daemon>>;

pub async fn create(State(d): D, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let c = d.lookup(&id)?;
    let config: ExecConfig = parse_json(&body)?;
    let id = cexec::create(&d, &c, config)?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id}))).into_response())
}

#[derive(serde::Deserialize, Default)]
struct StartBody {
    #[serde(rename = "Detach", default)]
    detach: bool,
    #[serde(rename = "Tty", default)]
    tty: Option<bool>,
    #[serde(rename = "ConsoleSize", default)]
    console_size: Option<Vec<u16>>,
}

pub async fn start(State(d): D, Path(id): Path<String>, req: Request) -> Result<Response> {
    let e = cexec::lookup(&d, &id)?;
    let upgrade = hijack::wants_upgrade(&req);
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.map_err(|e| Error::Invalid(format!("read body: {e}")))?;
    let sb: StartBody = parse_json(&bytes)?;
    let req = Request::from_parts(parts, axum::body::Body::empty());
    {
        let mut st = e.state.lock().expect("exec lock");
        if st.started {
            return Err(Error::Conflict(format!("Error: Exec command {id} has already run")));
        }
        st.started = true;
        st.running = true;
    }
    let c = d.lookup(&e.container_id)?;
    let cfg = &e.config;
    let tty = sb.tty.or(cfg.tty).unwrap_or(false);
    let stdin = cfg.attach_stdin == Some(true) && !sb.detach;
    let process = cexec::process_json(
        &c,
        cfg.cmd.as_deref().unwrap_or(&[]),
        cfg.env.as_deref().unwrap_or(&[]),
        cfg.user.as_deref(),
        cfg.working_dir.as_deref(),
        tty,
        cfg.privileged == Some(true),
    )
    .inspect_err(|_| finish(&e, 126))?;
    let tag = e.id[..12].to_owned();
    let run = cexec::spawn(&d, &c, &tag, &process, stdin).await.inspect_err(|_| finish(&e, 126))?;
    if let (Some(fd), Some(size)) = (&run.console, sb.console_size.as_ref().filter(|s| s.len() == 2)) {
        let _ = crate::console::resize(fd, size[0], size[1]);
    }
    let r = c.record();
    let mut attrs = std::collections::HashMap::new();
    attrs.insert("name".to_owned(), r.name.clone());
    attrs.insert("execID".to_owned(), e.id.clone());
    let cmd = cfg.cmd.clone().unwrap_or_default().join(" ");
    d.events.container(&format!("exec_start: {cmd}"), &c.id, &r.image, attrs);
    if sb.detach {
        tokio::spawn(drive(d.clone(), e.clone(), run, None));
        return Ok(StatusCode::OK.into_response());
    }
    if upgrade {
        let (d2, e2) = (d.clone(), e.clone());
        Ok(hijack::upgrade(req, tty, move |client| drive(d2, e2, run, Some(client))))
    } else {
        // No upgrade: output as the body, no input.
        let (tx, rx) = tokio::io::duplex(64 * 1024);
        tokio::spawn(drive_io(d.clone(), e.clone(), run, tx));
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            let mut buf = vec![0u8; 16 * 1024];
            match rx.read(&mut buf).await {
                Ok(0) | Err(_) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<_, std::io::Error>(Bytes::from(buf)), rx))
                }
            }
        });
        Ok(axum::body::Body::from_stream(stream).into_response())
    }
}

fn finish(e: &Exec, code: i64) {
    let mut st = e.state.lock().expect("exec lock");
    st.running = false;
    st.exit_code = Some(code);
}

async fn drive(d: Arc<Daemon>, e: Arc<Exec>, run: cexec::Running, client: Option<hijack::Upgraded>) {
    match client {
        Some(c) => drive_io(d, e, run, c).await,
        None => drive_io(d, e, run, tokio::io::join(tokio::io::empty(), tokio::io::sink())).await,
    }
}

/// Relays the process's stdio with `client` until it exits; records the exit code.
async fn drive_io<C>(d: Arc<Daemon>, e: Arc<Exec>, mut run: cexec::Running, client: C)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (mut cr, mut cw) = tokio::io::split(client);
    let console = run.console.take();
    let result = if let Some(master) = console {
        let dup = master.try_clone().ok();
        *e.console.lock().expect("exec lock") = dup;
        relay_tty(master, &mut cr, &mut cw, &mut run.child).await
    } else {
        relay_pipes(&mut cr, &mut cw, &mut run.child).await
    };
    let _ = cw.shutdown().await;
    let code = match result {
        Ok(status) => cexec::code_of(status),
        Err(_) => 255,
    };
    let _ = std::fs::remove_file(&run.process_file);
    *e.console.lock().expect("exec lock") = None;
    finish(&e, code);
    if let Ok(c) = d.lookup(&e.container_id) {
        let r = c.record();
        let mut attrs = std::collections::HashMap::new();
        attrs.insert("name".to_owned(), r.name.clone());
        attrs.insert("execID".to_owned(), e.id.clone());
        attrs.insert("exitCode".to_owned(), code.to_string());
        d.events.container("exec_die", &c.id, &r.image, attrs);
    }
}

async fn relay_pipes<R, W>(cr: &mut R, cw: &mut W, child: &mut tokio::process::Child) -> std::io::Result<std::process::ExitStatus>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let mut stdin = child.stdin.take();
    let mut ob = vec![0u8; 32 * 1024];
    let mut eb = vec![0u8; 32 * 1024];
    let mut ib = vec![0u8; 32 * 1024];
    while out.is_some() || err.is_some() {
        tokio::select! {
            n = async { out.as_mut().expect("stdout").read(&mut ob).await }, if out.is_some() => match n {
                Ok(0) | Err(_) => out = None,
                Ok(n) => { if cw.write_all(&frame(1, &ob[..n])).await.is_err() { break; } }
            },
            n = async { err.as_mut().expect("stderr").read(&mut eb).await }, if err.is_some() => match n {
                Ok(0) | Err(_) => err = None,
                Ok(n) => { if cw.write_all(&frame(2, &eb[..n])).await.is_err() { break; } }
            },
            n = cr.read(&mut ib), if stdin.is_some() => match n {
                Ok(0) | Err(_) => stdin = None,
                Ok(n) => { if let Some(s) = stdin.as_mut() { if s.write_all(&ib[..n]).await.is_err() { stdin = None; } } }
            },
        }
    }
    drop(stdin);
    let _ = cw.flush().await;
    child.wait().await
}

async fn relay_tty<R, W>(master: OwnedFd, cr: &mut R, cw: &mut W, child: &mut tokio::process::Child) -> std::io::Result<std::process::ExitStatus>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    // SAFETY: fcntl on a descriptor we own; O_NONBLOCK is what AsyncFd needs.
    unsafe {
        let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(master.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let file = std::fs::File::from(master);
    // SAFETY: the File owns its descriptor, which stays open and the same until the
    // AsyncFd (and the File in it) is dropped.
    let afd = unsafe { tokio::io::unix::AsyncFd::register(file) }.map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut ob = vec![0u8; 32 * 1024];
    let mut ib = vec![0u8; 32 * 1024];
    let mut input_open = true;
    loop {
        tokio::select! {
            guard = afd.readable() => {
                let mut g = guard?;
                match g.try_io(|f| std::io::Read::read(&mut f.get_ref(), &mut ob)) {
                    Ok(Ok(0)) | Ok(Err(_)) => break, // EIO: the slave side closed
                    Ok(Ok(n)) => { if cw.write_all(&ob[..n]).await.is_err() { break; } }
                    Err(_would_block) => continue,
                }
            }
            n = cr.read(&mut ib), if input_open => match n {
                Ok(0) | Err(_) => input_open = false,
                Ok(n) => {
                    let mut off = 0;
                    while off < n {
                        let mut g = afd.writable().await?;
                        match g.try_io(|f| std::io::Write::write(&mut f.get_ref(), &ib[off..n])) {
                            Ok(Ok(k)) => off += k,
                            Ok(Err(_)) => break,
                            Err(_) => continue,
                        }
                    }
                }
            },
        }
    }
    let _ = cw.flush().await;
    child.wait().await
}

pub async fn resize(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let e = cexec::lookup(&d, &id)?;
    let h: u16 = q.get("h").and_then(|v| v.parse().ok()).unwrap_or(0);
    let w: u16 = q.get("w").and_then(|v| v.parse().ok()).unwrap_or(0);
    let console = e.console.lock().expect("exec lock");
    match console.as_ref() {
        Some(fd) => crate::console::resize(fd, h, w).map_err(|err| Error::internal("resize exec terminal", err))?,
        None => return Err(Error::Conflict(format!("exec {id} has no terminal or is not running"))),
    }
    Ok(StatusCode::OK.into_response())
}

pub async fn inspect(State(d): D, Path(id): Path<String>) -> Result<Json<Value>> {
    let e = cexec::lookup(&d, &id)?;
    let st = e.state.lock().expect("exec lock");
    let cfg = &e.config;
    let cmd = cfg.cmd.clone().unwrap_or_default();
    Ok(Json(json!({
        "ID": e.id,
        "Running": st.running,
        "ExitCode": st.exit_code,
        "ProcessConfig": {"tty": cfg.tty.unwrap_or(false), "entrypoint": cmd.first(), "arguments": cmd.get(1..).unwrap_or(&[]), "privileged": cfg.privileged.unwrap_or(false), "user": cfg.user.clone().unwrap_or_default()},
        "OpenStdin": cfg.attach_stdin.unwrap_or(false),
        "OpenStderr": cfg.attach_stderr.unwrap_or(false),
        "OpenStdout": cfg.attach_stdout.unwrap_or(false),
        "CanRemove": false,
        "ContainerID": e.container_id,
        "DetachKeys": cfg.detach_keys.clone().unwrap_or_default(),
        "Pid": st.pid,
    })))
}
