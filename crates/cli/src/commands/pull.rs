//! `berth pull [--platform P] [-q] NAME[:TAG|@DIGEST]`: `POST /images/create?fromImage&tag`
//! with the login stored for the registry (docker's `config.json`) as `X-Registry-Auth`.
//! On a terminal the progress stream is drawn as docker draws it, one line per layer
//! updated in place (bars for downloads and extraction, with the transfer rate);
//! otherwise printed line by line as docker prints it without a terminal (`latest: Pulling
//! from library/busybox`, `Digest: …`, `Status: …`), then the reference. An error in the
//! stream is printed and exits 1.

use std::io::Write;

use berth_api_client::stream::for_each_json;
use berth_registry::DockerConfig;
use serde_json::Value;

use crate::commands::{print, Api, Context};
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub name: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "pull";
    let api = ctx.api(CX)?;
    if !has_tag(&args.name) && !args.quiet {
        println!("Using default tag: latest");
    }
    if args.quiet {
        pull_quiet(api, CX, &args.name, args.platform.as_deref())?;
    } else {
        pull(api, CX, &args.name, args.platform.as_deref(), false)?;
    }
    print(CX, &format!("{}\n", full_reference(&args.name)))
}

/// Whether `name` names a tag or digest (a `:` after the last `/`, or `@`).
fn has_tag(name: &str) -> bool {
    name.contains('@')
        || name
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
}

/// `busybox` → `busybox:latest`, as docker's messages write it.
pub fn with_default_tag(name: &str) -> String {
    if has_tag(name) {
        name.to_owned()
    } else {
        format!("{name}:latest")
    }
}

/// `busybox` → `docker.io/library/busybox:latest`.
fn full_reference(name: &str) -> String {
    let tagged = with_default_tag(name);
    let first = tagged.split('/').next().unwrap_or("");
    let has_domain = tagged.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_domain {
        tagged
    } else if tagged.contains('/') {
        format!("docker.io/{tagged}")
    } else {
        format!("docker.io/library/{tagged}")
    }
}

/// `fromImage` and `tag` as the API takes them.
fn split(name: &str) -> (String, Option<String>) {
    if let Some((repo, digest)) = name.split_once('@') {
        return (repo.to_owned(), Some(digest.to_owned()));
    }
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_owned(), Some(tag.to_owned())),
        _ => (name.to_owned(), Some("latest".to_owned())),
    }
}

/// One progress line without a terminal, or `None` for pure progress updates.
pub fn progress_line(v: &Value) -> Option<String> {
    let status = v.get("status").and_then(Value::as_str)?;
    let has_progress = v
        .get("progressDetail")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty());
    if has_progress {
        return None;
    }
    Some(match v.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => format!("{id}: {status}"),
        _ => status.to_owned(),
    })
}

/// The error a stream message carries.
pub fn stream_error(v: &Value) -> Option<String> {
    v.get("error")
        .and_then(Value::as_str)
        .or_else(|| v.pointer("/errorDetail/message").and_then(Value::as_str))
        .map(str::to_owned)
}

/// The `X-Registry-Auth` value for the registry `name` lives in, from the stored logins;
/// `None` when there is none (anonymous).
pub fn registry_auth(name: &str) -> Option<String> {
    let reference = berth_image::Reference::parse(name).ok()?;
    let config = DockerConfig::load(&DockerConfig::default_path()).ok()?;
    let creds = config.get(reference.domain())?;
    Some(creds.to_registry_auth(reference.domain()))
}

/// Draws a progress stream: on a terminal one line per id, rewritten in place (as
/// docker's jsonmessage does); otherwise [`progress_line`]s.
pub struct Progress {
    tty: bool,
    to_stderr: bool,
    ids: Vec<String>,
    /// When each id's transfer started and at which byte: for the rate shown.
    started: std::collections::HashMap<String, (std::time::Instant, u64)>,
}

impl Progress {
    pub fn new(to_stderr: bool) -> Progress {
        let tty = if to_stderr {
            std::io::IsTerminal::is_terminal(&std::io::stderr())
        } else {
            crate::stdio::terminal::stdout_is_tty()
        };
        Progress { tty, to_stderr, ids: Vec::new(), started: Default::default() }
    }

    fn write(&self, text: &str) {
        if self.to_stderr {
            let mut e = std::io::stderr().lock();
            let _ = e.write_all(text.as_bytes());
            let _ = e.flush();
        } else {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(text.as_bytes());
            let _ = o.flush();
        }
    }

    pub fn show(&mut self, v: &Value) {
        if !self.tty {
            if let Some(line) = progress_line(v) {
                self.write(&format!("{line}\n"));
            }
            return;
        }
        let Some(status) = v.get("status").and_then(Value::as_str) else {
            return;
        };
        let bar = v.get("progress").and_then(Value::as_str).unwrap_or("");
        let id = v.get("id").and_then(Value::as_str).unwrap_or("");
        if id.is_empty() {
            self.write(&format!("{status}\n"));
            return;
        }
        let current = v.pointer("/progressDetail/current").and_then(Value::as_u64);
        let rate = match (status, current) {
            ("Downloading" | "Pushing", Some(now)) => {
                let (t0, b0) = *self.started.entry(id.to_owned()).or_insert((std::time::Instant::now(), now));
                let secs = t0.elapsed().as_secs_f64();
                (secs > 0.2).then(|| format!(" {:.1}MB/s", (now - b0.min(now)) as f64 / secs / 1e6))
            }
            _ => None,
        };
        let line = match (bar.is_empty(), rate) {
            (true, _) => format!("{id}: {status}"),
            (false, Some(r)) => format!("{id}: {status} {bar}{r}"),
            (false, None) => format!("{id}: {status} {bar}"),
        };
        match self.ids.iter().position(|i| i == id) {
            None => {
                self.ids.push(id.to_owned());
                self.write(&format!("\x1b[2K{line}\n"));
            }
            Some(i) => {
                let up = self.ids.len() - i;
                self.write(&format!("\x1b[{up}A\r\x1b[2K{line}\x1b[{up}B\r"));
            }
        }
    }
}

/// Pulls `name`, printing progress to stdout (or stderr, for `run`); exit 1 on error.
pub fn pull(
    api: &Api,
    cx: &str,
    name: &str,
    platform: Option<&str>,
    to_stderr: bool,
) -> Result<(), CliError> {
    let (image, tag) = split(name);
    let auth = registry_auth(name);
    let mut shown = Progress::new(to_stderr);
    api.block(async {
        let resp = api
            .client
            .image_pull_auth(&image, tag.as_deref(), platform, auth.as_deref())
            .await
            .map_err(|e| CliError::api(cx, e))?;
        let mut body = resp.into_body();
        let mut failure = None;
        for_each_json(&mut body, |v| {
            if let Some(e) = stream_error(&v) {
                failure = Some(e);
                return Ok(false);
            }
            shown.show(&v);
            Ok(true)
        })
        .await
        .map_err(|e| CliError::api(cx, e))?;
        match failure {
            Some(e) => Err(CliError::bare(1, e)),
            None => Ok(()),
        }
    })
}

fn pull_quiet(api: &Api, cx: &str, name: &str, platform: Option<&str>) -> Result<(), CliError> {
    let (image, tag) = split(name);
    let auth = registry_auth(name);
    api.block(async {
        let resp = api
            .client
            .image_pull_auth(&image, tag.as_deref(), platform, auth.as_deref())
            .await
            .map_err(|e| CliError::api(cx, e))?;
        let mut body = resp.into_body();
        let mut failure = None;
        for_each_json(&mut body, |v| {
            failure = stream_error(&v);
            Ok(failure.is_none())
        })
        .await
        .map_err(|e| CliError::api(cx, e))?;
        failure.map_or(Ok(()), |e| Err(CliError::bare(1, e)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references() {
        assert_eq!(with_default_tag("busybox"), "busybox:latest");
        assert_eq!(
            with_default_tag("localhost:5000/x"),
            "localhost:5000/x:latest"
        );
        assert_eq!(with_default_tag("a/b:1"), "a/b:1");
        assert_eq!(
            full_reference("busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full_reference("me/app:2"), "docker.io/me/app:2");
        assert_eq!(
            full_reference("127.0.0.1:5000/pb/big:1"),
            "127.0.0.1:5000/pb/big:1"
        );
        assert_eq!(split("busybox"), ("busybox".into(), Some("latest".into())));
        assert_eq!(
            split("localhost:5000/x:1"),
            ("localhost:5000/x".into(), Some("1".into()))
        );
        assert_eq!(
            split("localhost:5000/x"),
            ("localhost:5000/x".into(), Some("latest".into()))
        );
        assert_eq!(split("x@sha256:ab"), ("x".into(), Some("sha256:ab".into())));
    }

    #[test]
    fn progress_lines() {
        assert_eq!(
            progress_line(&json!({"status":"Pulling from library/busybox","id":"latest"})).unwrap(),
            "latest: Pulling from library/busybox"
        );
        assert_eq!(
            progress_line(&json!({"status":"Digest: sha256:x"})).unwrap(),
            "Digest: sha256:x"
        );
        assert!(progress_line(
            &json!({"status":"Downloading","progressDetail":{"current":1},"id":"a"})
        )
        .is_none());
        assert_eq!(
            stream_error(&json!({"errorDetail":{"message":"boom"},"error":"boom"})).unwrap(),
            "boom"
        );
    }
}
