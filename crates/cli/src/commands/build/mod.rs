//! `berth build [OPTIONS] PATH | -`: the context directory sent as a tar (less what
//! `.dockerignore` excludes, as the docker CLI does) to `POST /build`, the build stream
//! printed as it comes (`Step 1/3 : FROM busybox`, the RUN output, ` ---> id`), pull
//! progress drawn as `pull` draws it; an error in the stream is printed and the command
//! exits with the failed RUN's code. `-` reads a context tar, or a lone Dockerfile, from
//! standard input; `-f -` reads the Dockerfile from standard input.

use std::io;
use std::path::PathBuf;

use berth_api_client::stream::for_each_json;
use berth_api_client::{Body, Query};
use serde_json::Value;

use crate::commands::pull::{stream_error, Progress};
use crate::commands::Context;
use crate::error::CliError;

mod context;
mod progress;

const CX: &str = "build";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Name of the Dockerfile (default: "PATH/Dockerfile")
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<String>,
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short, long = "tag", value_name = "NAME")]
    pub tags: Vec<String>,
    /// Set build-time variables
    #[arg(long = "build-arg", value_name = "NAME[=VALUE]")]
    pub build_args: Vec<String>,
    /// Set the target build stage to build
    #[arg(long)]
    pub target: Option<String>,
    /// Set metadata for an image
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pub pull: bool,
    /// Suppress the build output and print image ID on success
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the image ID to the file
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Set the networking mode for the RUN instructions during build
    #[arg(long, default_value = "default")]
    pub network: String,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Remove intermediate containers after a successful build (always)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub rm: bool,
    /// Always remove intermediate containers (always)
    #[arg(long)]
    pub force_rm: bool,
    /// Type of progress output (auto, plain, tty): berth prints the classic log
    #[arg(long, default_value = "auto")]
    pub progress: String,
    #[arg(value_name = "PATH | -")]
    pub context: String,
}

/// Pieces of the context sent at once.
const CHUNK: usize = 256 << 10;

/// A `Write` into the request body's channel, in chunks.
struct ChunkSender {
    tx: tokio::sync::mpsc::Sender<io::Result<bytes::Bytes>>,
    buf: Vec<u8>,
    /// Set when the request body was dropped: the daemon stopped reading.
    refused: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl io::Write for ChunkSender {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = bytes::Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            self.refused.store(true, std::sync::atomic::Ordering::Relaxed);
            io::Error::new(io::ErrorKind::BrokenPipe, "the daemon stopped reading the context")
        })
    }
}

impl Drop for ChunkSender {
    fn drop(&mut self) {
        let _ = io::Write::flush(self);
    }
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let (tar, dockerfile) = context::context_tar(&args)?;
    let mut q = Query::new().opt("dockerfile", dockerfile.as_deref());
    for t in &args.tags {
        q = q.add("t", t);
    }
    let mut build_args = serde_json::Map::new();
    for a in &args.build_args {
        let value = match a.split_once('=') {
            Some((k, v)) => (k.to_owned(), Value::String(v.to_owned())),
            // `--build-arg NAME` takes the value from this environment, as docker does.
            None => (a.clone(), std::env::var(a).map_or(Value::Null, Value::String)),
        };
        build_args.insert(value.0, value.1);
    }
    let mut labels = serde_json::Map::new();
    for l in &args.labels {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    q = q
        .add("buildargs", Value::Object(build_args).to_string())
        .add("labels", Value::Object(labels).to_string())
        .opt("target", args.target.as_deref())
        .add("nocache", if args.no_cache { "1" } else { "0" })
        .add("pull", if args.pull { "1" } else { "0" })
        .add("q", if args.quiet { "1" } else { "0" })
        .add("rm", "1")
        .add("networkmode", &args.network)
        .opt("platform", args.platform.as_deref());
    let api = ctx.api(CX)?;
    let mut shown = Progress::new(false);
    let tty = crate::stdio::terminal::stdout_is_tty();
    let mut compact = (tty && !args.quiet && matches!(args.progress.as_str(), "auto" | "tty")).then(progress::Compact::new);
    let mut id = None;
    let mut failure: Option<(i32, String)> = None;
    api.block(async {
        // The context is tarred on a thread of its own while it is sent, so reading the
        // files, the transfer and the daemon's indexing overlap.
        let (tx, body) = Body::channel();
        let refused = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sender = ChunkSender { tx, buf: Vec::with_capacity(CHUNK), refused: refused.clone() };
        let producer = std::thread::spawn(move || tar.write(sender));
        // Every stored login, as the docker CLI sends them: the daemon picks what FROM needs.
        let logins = berth_registry::DockerConfig::load(&berth_registry::DockerConfig::default_path()).ok().map(|c| c.registry_config());
        let resp = api.client.image_build(body, &q, logins.as_deref()).await.map_err(|e| CliError::api(CX, e));
        let produced = producer.join().unwrap_or_else(|_| Err(CliError::failed(CX, "the context writer panicked")));
        let resp = match (resp, produced) {
            (Ok(r), Ok(())) => r,
            // The daemon answered before taking the whole context (a bad tag): its answer.
            (Err(e), Err(_)) if refused.load(std::sync::atomic::Ordering::Relaxed) => return Err(e),
            // A file that could not be read explains a cut-short context best.
            (_, Err(e)) | (Err(e), _) => return Err(e),
        };
        let mut body = resp.into_body();
        for_each_json(&mut body, |v| {
            if let Some(e) = stream_error(&v) {
                let code = v.pointer("/errorDetail/code").and_then(Value::as_i64).filter(|c| *c != 0).unwrap_or(1);
                failure = Some((i32::try_from(code).unwrap_or(1), e));
                return Ok(false);
            }
            if let Some(i) = v.pointer("/aux/ID").and_then(Value::as_str) {
                id = Some(i.to_owned());
            } else if let Some(s) = v.get("stream").and_then(Value::as_str) {
                match compact.as_mut() {
                    Some(c) => c.feed(s),
                    None => {
                        use std::io::Write;
                        let mut o = io::stdout().lock();
                        let _ = o.write_all(s.as_bytes());
                        let _ = o.flush();
                    }
                }
            } else if v.get("status").is_some() {
                shown.show(&v);
            }
            Ok(true)
        })
        .await
        .map_err(|e| CliError::api(CX, e))
    })?;
    if let Some(c) = compact.as_mut() {
        c.finish(failure.as_ref().map(|(_, m)| m.as_str()));
    }
    if let Some((code, message)) = failure {
        return Err(CliError::bare(code, message));
    }
    if let (Some(path), Some(id)) = (&args.iidfile, &id) {
        std::fs::write(path, id).map_err(|e| CliError::failed(CX, format!("write image id to {}: {e}", path.display())))?;
    }
    Ok(())
}

