//! `berth logs [-f] [--since] [--until] [-t] [-n N] [--details] CONTAINER`:
//! `GET /containers/{id}/json` (is it a TTY?) then `GET /containers/{id}/logs`, frames
//! demultiplexed to stdout and stderr (raw bytes to stdout for a TTY container).

use berth_api_client::containers::LogsOptions;
use berth_api_client::stream::{next_chunk, Demuxer, StreamKind};
use serde_json::Value;

use crate::commands::Context;
use crate::error::CliError;
use crate::format::time;
use crate::opts::duration;
use crate::stdio::streams::write_out;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub until: Option<String>,
    pub container: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "logs";
    let api = ctx.api(CX)?;
    let now = time::now();
    api.block(async {
        let info: Value = api
            .client
            .container_inspect(&args.container, false)
            .await
            .map_err(|e| CliError::api(CX, e))?;
        let tty = info
            .pointer("/Config/Tty")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let id = info["Id"].as_str().unwrap_or(&args.container).to_owned();
        let o = LogsOptions {
            follow: args.follow,
            stdout: true,
            stderr: true,
            since: args.since.as_deref().map(|s| duration::timestamp(s, now)),
            until: args.until.as_deref().map(|s| duration::timestamp(s, now)),
            timestamps: args.timestamps,
            tail: Some(args.tail.clone()),
            details: args.details,
        };
        let resp = api
            .client
            .container_logs(&id, &o)
            .await
            .map_err(|e| CliError::api(CX, e))?;
        let mut body = resp.into_body();
        let mut demux = Demuxer::new();
        while let Some(chunk) = next_chunk(&mut body)
            .await
            .map_err(|e| CliError::api(CX, e))?
        {
            let written = if tty {
                write_out(StreamKind::Stdout, &chunk)
            } else {
                demux.push(&chunk);
                let mut r = Ok(());
                while let Some((kind, data)) =
                    demux.next_frame().map_err(|e| CliError::api(CX, e))?
                {
                    r = write_out(kind, &data);
                    if r.is_err() {
                        break;
                    }
                }
                r
            };
            match written {
                // `berth logs -f c | head`: the reader is gone, stop.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                r => r.map_err(|e| CliError::failed(CX, e))?,
            }
        }
        Ok(())
    })
}
