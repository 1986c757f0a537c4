//! `berth events [--since] [--until] [-f KEY=VALUE] [--format]`: `GET /events`, one line
//! an event as docker prints them (`2024-01-01T00:00:00.000000000Z container start ID
//! (image=busybox, name=web)`), or the template per event; runs until `--until` or
//! until interrupted.

use std::io::Write;

use berth_api_client::stream::for_each_json;
use serde_json::Value;

use crate::commands::Context;
use crate::error::CliError;
use crate::format::{time, Template};
use crate::opts::{duration, filters};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    pub filters: Vec<String>,
    /// Format output using a custom template ('json' or a Go template)
    #[arg(long)]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    pub until: Option<String>,
}

/// RFC 3339 with nanoseconds, in UTC.
fn time_nano(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let base = time::rfc3339(secs);
    format!("{}.{frac:09}Z", base.trim_end_matches('Z'))
}

/// docker's default line for an event.
pub fn line(e: &Value) -> String {
    let nanos = e["timeNano"]
        .as_i64()
        .unwrap_or_else(|| e["time"].as_i64().unwrap_or(0) * 1_000_000_000);
    let mut out = format!(
        "{} {} {} {}",
        time_nano(nanos),
        e["Type"].as_str().unwrap_or_default(),
        e["Action"].as_str().unwrap_or_default(),
        e.pointer("/Actor/ID")
            .and_then(Value::as_str)
            .unwrap_or_default()
    );
    if let Some(attrs) = e.pointer("/Actor/Attributes").and_then(Value::as_object) {
        if !attrs.is_empty() {
            let mut kv: Vec<String> = attrs
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            kv.sort();
            out.push_str(&format!(" ({})", kv.join(", ")));
        }
    }
    out
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "events";
    let f = filters::to_json(&args.filters, &[]).map_err(|e| CliError::usage(CX, e))?;
    let template = match args.format.as_deref() {
        None | Some("") => None,
        Some("json") => Some(Template::parse("{{json .}}").map_err(|e| CliError::usage(CX, e))?),
        Some(t) => Some(Template::parse(t).map_err(|e| CliError::usage(CX, e))?),
    };
    let now = time::now();
    let since = args.since.as_deref().map(|s| duration::timestamp(s, now));
    let until = args.until.as_deref().map(|s| duration::timestamp(s, now));
    let api = ctx.api(CX)?;
    api.block(async {
        let resp = api
            .client
            .events(since.as_deref(), until.as_deref(), f.as_deref())
            .await
            .map_err(|e| CliError::api(CX, e))?;
        let mut body = resp.into_body();
        let mut render_err = None;
        for_each_json(&mut body, |e| {
            let text = match &template {
                None => line(&e),
                Some(t) => match t.render(&e) {
                    Ok(s) => s,
                    Err(err) => {
                        render_err = Some(err);
                        return Ok(false);
                    }
                },
            };
            // Stop quietly when the reader went away (`berth events | head`).
            let mut out = std::io::stdout().lock();
            Ok(writeln!(out, "{text}").and_then(|()| out.flush()).is_ok())
        })
        .await
        .map_err(|e| CliError::api(CX, e))?;
        match render_err {
            Some(e) => Err(CliError::usage(CX, e)),
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines() {
        let e = serde_json::json!({
            "Type": "container", "Action": "start",
            "Actor": {"ID": "abc", "Attributes": {"name": "web", "image": "busybox"}},
            "time": 1700000000, "timeNano": 1700000000123456789i64
        });
        assert_eq!(
            line(&e),
            "2023-11-14T22:13:20.123456789Z container start abc (image=busybox, name=web)"
        );
    }
}
