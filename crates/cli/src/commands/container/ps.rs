//! `berth ps [-a] [-q] [-s] [-n N] [-l] [-f KEY=VALUE] [--no-trunc] [--format]`
//! (`berth container ls`): `GET /containers/json`, docker's columns (`CONTAINER ID IMAGE
//! COMMAND CREATED STATUS PORTS NAMES`, `SIZE` with `-s`) and fields: `.ID .Image
//! .Command .CreatedAt .RunningFor .Ports .State .Status .Size .Names .Labels
//! .Label "k" .Mounts .Networks .LocalVolumes`.

use serde_json::{json, Map, Value};

use crate::commands::container::short;
use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format::{self, time, units};
use crate::opts::filters;

const CX: &str = "ps";

const FILTERS: &[&str] = &[
    "ancestor",
    "before",
    "expose",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short, long)]
    pub size: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let f = filters::to_json(&args.filters, FILTERS).map_err(|e| CliError::usage(CX, e))?;
    let limit = if args.latest {
        Some(1)
    } else {
        (args.last > 0).then_some(args.last)
    };
    let template = match args.format.as_deref() {
        None | Some("") | Some("table") => default_format(args.size && !args.quiet),
        Some(t) => t.to_owned(),
    };
    // docker computes sizes when the template shows them.
    let size = args.size || template.contains(".Size");
    let api = ctx.api(CX)?;
    let list = api
        .block(api.client.container_list(
            args.all || limit.is_some(),
            limit,
            size && !args.quiet,
            f.as_deref(),
        ))
        .map_err(|e| CliError::api(CX, e))?;
    if args.quiet {
        let out: String = list
            .iter()
            .map(|c| {
                format!(
                    "{}\n",
                    short(c["Id"].as_str().unwrap_or_default(), args.no_trunc)
                )
            })
            .collect();
        return print(CX, &out);
    }
    let now = time::now();
    let rows: Vec<Value> = list.iter().map(|c| row(c, args.no_trunc, now)).collect();
    let out = if template == "json" {
        format::json_lines(&rows)
    } else {
        format::rows(&template, &rows, header).map_err(|e| CliError::usage(CX, e))?
    };
    print(CX, &out)
}

fn default_format(size: bool) -> String {
    let mut f = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}".to_owned();
    if size {
        f.push_str("\t{{.Size}}");
    }
    f
}

fn header(field: &str) -> String {
    match field {
        "ID" => "CONTAINER ID",
        "CreatedAt" => "CREATED AT",
        "RunningFor" => "CREATED",
        "LocalVolumes" => "LOCAL VOLUMES",
        other => return other.to_uppercase(),
    }
    .to_owned()
}

/// Go's `strconv.Quote` for what commands contain (quotes, backslashes, control bytes).
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// docker's `Ellipsis`: at most `max` characters, the last one `…` when cut.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `0.0.0.0:8080->80/tcp, 443/tcp`, as docker lays it out: ports sorted by private
/// port, address, public port and protocol; a port published on the same number, or not
/// published, joins a range with its neighbours of the same address and protocol (in
/// the order such groups first appear); ports published on another number are listed
/// one by one, last.
pub fn ports(list: &Value) -> String {
    struct P {
        ip: String,
        public: u64,
        private: u64,
        proto: String,
    }
    let mut ps: Vec<P> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| P {
            ip: p["IP"].as_str().unwrap_or_default().to_owned(),
            public: p["PublicPort"].as_u64().unwrap_or(0),
            private: p["PrivatePort"].as_u64().unwrap_or(0),
            proto: p["Type"].as_str().unwrap_or("tcp").to_owned(),
        })
        .collect();
    ps.sort_by(|a, b| {
        (a.private, &a.ip, a.public, &a.proto).cmp(&(b.private, &b.ip, b.public, &b.proto))
    });
    let host = |ip: &str, port: &str| {
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    let form = |(ip, proto): &(String, String), first: u64, last: u64| {
        let group = if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        };
        if ip.is_empty() {
            format!("{group}/{proto}")
        } else {
            format!("{}->{group}/{proto}", host(ip, &group))
        }
    };
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    // (ip, proto) → (first, last), in creation order.
    let mut groups: Vec<((String, String), u64, u64)> = Vec::new();
    for p in &ps {
        if !p.ip.is_empty() && p.public != p.private {
            mappings.push(format!(
                "{}->{}/{}",
                host(&p.ip, &p.public.to_string()),
                p.private,
                p.proto
            ));
            continue;
        }
        let key = (p.ip.clone(), p.proto.clone());
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            None => groups.push((key, p.private, p.private)),
            Some((k, first, last)) => {
                if p.private == *last + 1 {
                    *last = p.private;
                } else {
                    result.push(form(k, *first, *last));
                    *first = p.private;
                    *last = p.private;
                }
            }
        }
    }
    for (k, first, last) in &groups {
        result.push(form(k, *first, *last));
    }
    result.extend(mappings);
    result.join(", ")
}

/// One `ps` row from a `GET /containers/json` element.
pub fn row(c: &Value, no_trunc: bool, now: i64) -> Value {
    let created = c["Created"].as_i64().unwrap_or(0);
    let command = c["Command"].as_str().unwrap_or_default();
    let command = if no_trunc {
        go_quote(command)
    } else {
        go_quote(&ellipsis(command, 20))
    };
    let names: Vec<String> = c["Names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|n| n.trim_start_matches('/').to_owned())
        // Link aliases (`other/alias`) only with --no-trunc, as docker shows them.
        .filter(|n| no_trunc || !n.contains('/'))
        .collect();
    let labels_map: Map<String, Value> = c["Labels"].as_object().cloned().unwrap_or_default();
    let labels: Vec<String> = labels_map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let mounts: Vec<String> = c["Mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let name = m["Name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .or(m["Source"].as_str())
                .unwrap_or_default();
            if no_trunc {
                name.to_owned()
            } else {
                ellipsis(name, 15)
            }
        })
        .collect();
    let local_volumes = c["Mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["Driver"].as_str() == Some("local"))
        .count();
    let mut networks: Vec<String> = c
        .pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    networks.sort();
    let rw = c["SizeRw"].as_i64().unwrap_or(0).max(0) as u64;
    let root = c["SizeRootFs"].as_i64().unwrap_or(0).max(0) as u64;
    let size = if root > 0 {
        format!(
            "{} (virtual {})",
            units::image_size(rw),
            units::image_size(root)
        )
    } else {
        units::image_size(rw)
    };
    let image = c["Image"].as_str().unwrap_or_default();
    let image = if !no_trunc && image.starts_with("sha256:") {
        short(image.trim_start_matches("sha256:"), false)
    } else {
        image.to_owned()
    };
    json!({
        "ID": short(c["Id"].as_str().unwrap_or_default(), no_trunc),
        "Image": image,
        "Command": command,
        "CreatedAt": time::go_time_string(created),
        "RunningFor": units::created_since(created, now),
        "Ports": ports(&c["Ports"]),
        "State": c["State"].as_str().unwrap_or_default(),
        "Status": c["Status"].as_str().unwrap_or_default(),
        "Size": size,
        "Names": names.join(","),
        "Labels": labels.join(","),
        "Label": Value::Object(labels_map),
        "Mounts": mounts.join(","),
        "Networks": networks.join(","),
        "Platform": Value::Null,
        "LocalVolumes": local_volumes.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!({
            "Id": "0123456789abcdef0123", "Names": ["/web", "/other/alias"],
            "Image": "busybox", "Command": "sleep 1000000000000000000", "Created": 1000,
            "State": "running", "Status": "Up 5 minutes",
            "Ports": [{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},
                      {"IP":"0.0.0.0","PrivatePort":81,"PublicPort":8081,"Type":"tcp"},
                      {"PrivatePort":53,"Type":"udp"}],
            "Labels": {"a": "1", "b": "2"},
            "Mounts": [{"Name": "averyveryverylongvolumename", "Driver": "local"}],
            "NetworkSettings": {"Networks": {"bridge": {}}},
            "SizeRw": 0, "SizeRootFs": 4261000
        })
    }

    #[test]
    fn row_fields() {
        let r = row(&sample(), false, 1000 + 300);
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["Command"], "\"sleep 1000000000000…\"");
        assert_eq!(r["Names"], "web");
        assert_eq!(
            r["Ports"],
            "53/udp, 0.0.0.0:8080->80/tcp, 0.0.0.0:8081->81/tcp"
        );
        assert_eq!(r["Labels"], "a=1,b=2");
        assert_eq!(r["Mounts"], "averyveryveryl…");
        assert_eq!(r["Networks"], "bridge");
        assert_eq!(r["Size"], "0B (virtual 4.26MB)");
        assert_eq!(r["RunningFor"], "5 minutes ago");
        assert_eq!(r["CreatedAt"], "1970-01-01 00:16:40 +0000 UTC");
        let r = row(&sample(), true, 1300);
        assert_eq!(r["Names"], "web,other/alias");
        assert_eq!(r["Command"], "\"sleep 1000000000000000000\"");
    }

    #[test]
    fn formats() {
        let rows = vec![row(&sample(), false, 1300)];
        let t = format::rows("{{.Names}} {{.Label \"b\"}}", &rows, header).unwrap();
        assert_eq!(t, "web 2\n");
        let t = format::rows("table {{.ID}}\t{{.RunningFor}}", &rows, header).unwrap();
        assert_eq!(t, "CONTAINER ID   CREATED\n0123456789ab   5 minutes ago\n");
        let j = format::json_lines(&rows);
        assert!(j.starts_with("{\"Command\":"), "{j}");
        assert!(!j.contains("\"Label\":"), "{j}");
    }

    #[test]
    fn port_groups() {
        let p = json!([{"IP":"::","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}]);
        assert_eq!(ports(&p), "[::]:8080->80/tcp");
        let p = json!([
            {"IP":"0.0.0.0","PrivatePort":8080,"PublicPort":8080,"Type":"tcp"},
            {"IP":"127.0.0.1","PrivatePort":9001,"PublicPort":9001,"Type":"tcp"},
            {"IP":"127.0.0.1","PrivatePort":9000,"PublicPort":9000,"Type":"tcp"},
            {"PrivatePort":53,"Type":"udp"}, {"PrivatePort":54,"Type":"udp"},
            {"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8000,"Type":"tcp"}
        ]);
        assert_eq!(
            ports(&p),
            "53-54/udp, 0.0.0.0:8080->8080/tcp, 127.0.0.1:9000-9001->9000-9001/tcp, 0.0.0.0:8000->80/tcp"
        );
    }
}
