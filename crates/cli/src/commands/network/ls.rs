//! `berth network ls [-q] [--no-trunc] [-f FILTER]... [--format]`: `GET
//! /networks?filters=…`, sorted by name as docker sorts them; docker's table (`NETWORK
//! ID     NAME      DRIVER    SCOPE`) and fields (`.ID .Name .Driver .Scope .IPv4 .IPv6
//! .Internal .Labels .Label "k" .CreatedAt`).

use serde_json::{json, Map, Value};

use crate::commands::volume::natural_cmp;
use crate::commands::{print, short_id, Context};
use crate::error::CliError;
use crate::format;
use crate::opts::filters;

const CX: &str = "network ls";
const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
const QUIET_FORMAT: &str = "{{.ID}}";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    // The daemon checks the filter names, as docker's does.
    let f = filters::to_json(&args.filters, &[]).map_err(|e| CliError::usage(CX, e))?;
    let api = ctx.api(CX)?;
    let v = api
        .block(api.client.network_list(f.as_deref()))
        .map_err(|e| CliError::api(CX, e))?;
    let out = render(&args, &v).map_err(|e| CliError::usage(CX, e))?;
    print(CX, &out)
}

/// The output for a `GET /networks` answer.
pub fn render(args: &Args, list: &Value) -> Result<String, String> {
    let mut networks: Vec<&Value> = list.as_array().into_iter().flatten().collect();
    let name = |v: &Value| v["Name"].as_str().unwrap_or_default().to_owned();
    networks.sort_by(|a, b| natural_cmp(&name(a), &name(b)));
    let rows: Vec<Value> = networks.iter().map(|n| row(n, args.no_trunc)).collect();
    let f = match args.format.as_deref() {
        None | Some("") | Some("table") if args.quiet => QUIET_FORMAT,
        None | Some("") | Some("table") => DEFAULT_FORMAT,
        Some(f) => f,
    };
    if f == "json" {
        return Ok(format::json_lines(&rows));
    }
    format::rows(f, &rows, header)
}

fn header(field: &str) -> String {
    match field {
        "ID" => "NETWORK ID".to_owned(),
        "CreatedAt" => "CREATED AT".to_owned(),
        other => other.to_uppercase(),
    }
}

/// What the template sees of one network.
fn row(n: &Value, no_trunc: bool) -> Value {
    let labels_map: Map<String, Value> = n["Labels"].as_object().cloned().unwrap_or_default();
    let labels: Vec<String> = labels_map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let s = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
    let b = |k: &str, default: bool| n[k].as_bool().unwrap_or(default).to_string();
    json!({
        "CreatedAt": go_time(&s("Created")),
        "Driver": s("Driver"),
        "ID": short_id(&s("Id"), no_trunc),
        "IPv4": b("EnableIPv4", true),
        "IPv6": b("EnableIPv6", false),
        "Internal": b("Internal", false),
        "Labels": labels.join(","),
        "Name": s("Name"),
        "Scope": s("Scope"),
        "Label": Value::Object(labels_map),
    })
}

/// An RFC 3339 time as Go's `time.Time.String()` prints it in UTC, the fraction kept
/// without its trailing zeros: `2026-12-01 23:00:00.5 +0000 UTC`.
fn go_time(rfc3339: &str) -> String {
    let Some(secs) = format::time::parse_rfc3339(rfc3339) else {
        return rfc3339.to_owned();
    };
    let whole = format::time::go_time_string(secs);
    let frac: String = rfc3339
        .split_once('.')
        .map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).collect())
        .unwrap_or_default();
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        return whole;
    }
    // `YYYY-MM-DD hh:mm:ss` is 19 characters.
    format!("{}.{frac}{}", &whole[..19], &whole[19..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_args::parsed;

    fn list() -> Value {
        json!([
            {"Name": "none", "Id": "9e9a1b2c3d4e5f60718293a4b5c6d7e8f9", "Driver": "null",
             "Scope": "local", "Created": "2026-12-01T22:00:00Z", "Labels": {}},
            {"Name": "front10", "Id": "44334a1b2c3d4e5f60718293a4b5c6d7e8", "Driver": "bridge",
             "Scope": "local", "Created": "2026-12-01T23:04:05.120000000Z", "Internal": true,
             "Labels": {"a": "1", "b": "2"}},
            {"Name": "bridge", "Id": "e507a1b2c3d4e5f60718293a4b5c6d7e8f", "Driver": "bridge",
             "Scope": "local", "Created": "2026-12-01T22:00:00Z", "Labels": null},
            {"Name": "front2", "Id": "aaaa11112222333344445555", "Driver": "bridge",
             "Scope": "local", "Created": "2026-12-01T22:00:00Z"},
        ])
    }

    #[test]
    fn default_table_like_docker() {
        assert_eq!(
            render(&parsed(&[]), &list()).unwrap(),
            "NETWORK ID     NAME      DRIVER    SCOPE\n\
             e507a1b2c3d4   bridge    bridge    local\n\
             aaaa11112222   front2    bridge    local\n\
             44334a1b2c3d   front10   bridge    local\n\
             9e9a1b2c3d4e   none      null      local\n"
        );
        assert_eq!(
            render(&parsed(&["--format", "table"]), &json!([])).unwrap(),
            "NETWORK ID   NAME      DRIVER    SCOPE\n"
        );
    }

    #[test]
    fn quiet_and_no_trunc() {
        assert_eq!(
            render(&parsed(&["-q"]), &list()).unwrap(),
            "e507a1b2c3d4\naaaa11112222\n44334a1b2c3d\n9e9a1b2c3d4e\n"
        );
        let out = render(&parsed(&["-q", "--no-trunc"]), &list()).unwrap();
        assert_eq!(
            out.lines().next().unwrap(),
            "e507a1b2c3d4e5f60718293a4b5c6d7e8f"
        );
        let out = render(&parsed(&["-q", "--format", "{{.Name}}"]), &list()).unwrap();
        assert_eq!(out, "bridge\nfront2\nfront10\nnone\n");
    }

    #[test]
    fn templates() {
        let a: Args = parsed(&[
            "--format",
            "{{.Name}}|{{.Labels}}|{{.Label \"a\"}}|{{.Internal}}|{{.IPv4}}|{{.IPv6}}|{{.CreatedAt}}",
        ]);
        let out = render(&a, &list()).unwrap();
        assert_eq!(
            out.lines().nth(2).unwrap(),
            "front10|a=1,b=2|1|true|true|false|2026-12-01 23:04:05.12 +0000 UTC"
        );
        assert_eq!(
            out.lines().next().unwrap(),
            "bridge|||false|true|false|2026-12-01 22:00:00 +0000 UTC"
        );
        let a: Args = parsed(&["--format", "table {{.Name}}\t{{.Internal}}"]);
        assert_eq!(
            render(&a, &list()).unwrap(),
            "NAME      INTERNAL\nbridge    false\nfront2    false\nfront10   true\nnone      false\n"
        );
    }

    #[test]
    fn json_like_docker() {
        let out = render(&parsed(&["--format", "json"]), &list()).unwrap();
        assert_eq!(
            out.lines().next().unwrap(),
            r#"{"CreatedAt":"2026-12-01 22:00:00 +0000 UTC","Driver":"bridge","ID":"e507a1b2c3d4","IPv4":"true","IPv6":"false","Internal":"false","Labels":"","Name":"bridge","Scope":"local"}"#
        );
    }
}
