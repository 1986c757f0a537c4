//! `berth volume ls [-q] [-f FILTER]... [--format]`: `GET /volumes?filters=…`, sorted by
//! name as docker sorts them; docker's table (`DRIVER    VOLUME NAME`) and fields
//! (`.Name .Driver .Scope .Mountpoint .Labels .Label "k" .Links .Size`).

use serde_json::{json, Map, Value};

use crate::commands::volume::natural_cmp;
use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format;
use crate::opts::filters;

const CX: &str = "volume ls";
const DEFAULT_FORMAT: &str = "table {{.Driver}}\t{{.Name}}";
/// The filters `GET /volumes` takes.
const FILTERS: &[&str] = &["dangling", "label", "name", "driver"];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let f = filters::to_json(&args.filters, FILTERS).map_err(|e| CliError::usage(CX, e))?;
    let api = ctx.api(CX)?;
    let v = api
        .block(api.client.volume_list(f.as_deref()))
        .map_err(|e| CliError::api(CX, e))?;
    for w in v["Warnings"].as_array().into_iter().flatten() {
        if let Some(w) = w.as_str() {
            eprintln!("{w}");
        }
    }
    let out = render(&args, &v).map_err(|e| CliError::usage(CX, e))?;
    print(CX, &out)
}

/// The output for a `GET /volumes` answer.
pub fn render(args: &Args, list: &Value) -> Result<String, String> {
    let mut volumes: Vec<&Value> = list["Volumes"].as_array().into_iter().flatten().collect();
    let name = |v: &Value| v["Name"].as_str().unwrap_or_default().to_owned();
    volumes.sort_by(|a, b| natural_cmp(&name(a), &name(b)));
    if args.quiet {
        return Ok(volumes.iter().map(|v| format!("{}\n", name(v))).collect());
    }
    let rows: Vec<Value> = volumes.iter().map(|v| row(v)).collect();
    match args.format.as_deref() {
        Some("json") => Ok(format::json_lines(&rows)),
        None | Some("") | Some("table") => format::rows(DEFAULT_FORMAT, &rows, header),
        Some(f) => format::rows(f, &rows, header),
    }
}

fn header(field: &str) -> String {
    match field {
        "Name" => "VOLUME NAME".to_owned(),
        other => other.to_uppercase(),
    }
}

/// What the template sees of one volume. Sizes and links are docker's `N/A` unless the
/// daemon reported usage data.
fn row(v: &Value) -> Value {
    let labels_map: Map<String, Value> = v["Labels"].as_object().cloned().unwrap_or_default();
    let labels: Vec<String> = labels_map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let usage = |field: &str| {
        v.pointer(&format!("/UsageData/{field}"))
            .and_then(Value::as_i64)
    };
    let size = match usage("Size") {
        Some(s) if s >= 0 => format::units::human_size(s as u64),
        _ => "N/A".to_owned(),
    };
    let links = match usage("RefCount") {
        Some(n) if n >= 0 => n.to_string(),
        _ => "N/A".to_owned(),
    };
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    json!({
        "Availability": "N/A",
        "Driver": s("Driver"),
        "Group": "N/A",
        "Labels": labels.join(","),
        "Links": links,
        "Mountpoint": s("Mountpoint"),
        "Name": s("Name"),
        "Scope": s("Scope"),
        "Size": size,
        "Status": "N/A",
        "Label": Value::Object(labels_map),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_args::parsed;

    fn list() -> Value {
        json!({"Volumes": [
            {"Name": "zz10", "Driver": "local", "Scope": "local", "Mountpoint": "/d/zz10/_data",
             "Labels": {"a": "1", "b": "2"}},
            {"Name": "v2", "Driver": "local", "Scope": "local", "Mountpoint": "/d/v2/_data",
             "Labels": null},
        ], "Warnings": []})
    }

    #[test]
    fn default_table_like_docker() {
        assert_eq!(
            render(&parsed(&[]), &list()).unwrap(),
            "DRIVER    VOLUME NAME\nlocal     v2\nlocal     zz10\n"
        );
        assert_eq!(
            render(&parsed(&["--format", "table"]), &json!({"Volumes": []})).unwrap(),
            "DRIVER    VOLUME NAME\n"
        );
    }

    #[test]
    fn quiet_and_templates() {
        assert_eq!(render(&parsed(&["-q"]), &list()).unwrap(), "v2\nzz10\n");
        let a: Args = parsed(&[
            "--format",
            "{{.Name}}|{{.Labels}}|{{.Label \"a\"}}|{{.Scope}}|{{.Mountpoint}}",
        ]);
        assert_eq!(
            render(&a, &list()).unwrap(),
            "v2|||local|/d/v2/_data\nzz10|a=1,b=2|1|local|/d/zz10/_data\n"
        );
        let a: Args = parsed(&["--format", "table {{.Name}}\t{{.Labels}}"]);
        assert_eq!(
            render(&a, &list()).unwrap(),
            "VOLUME NAME   LABELS\nv2            \nzz10          a=1,b=2\n"
        );
    }

    #[test]
    fn json_like_docker() {
        let out = render(&parsed(&["--format", "json"]), &list()).unwrap();
        assert_eq!(
            out.lines().next().unwrap(),
            r#"{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"","Links":"N/A","Mountpoint":"/d/v2/_data","Name":"v2","Scope":"local","Size":"N/A","Status":"N/A"}"#
        );
    }

    #[test]
    fn filters_are_checked() {
        let a: Args = parsed(&[
            "-f",
            "dangling=true",
            "-f",
            "label=a=1",
            "--filter",
            "name=v",
            "-f",
            "driver=local",
        ]);
        assert_eq!(
            filters::to_json(&a.filters, FILTERS).unwrap().unwrap(),
            r#"{"dangling":["true"],"driver":["local"],"label":["a=1"],"name":["v"]}"#
        );
        assert!(filters::to_json(&["bogus=1".into()], FILTERS).is_err());
    }
}
