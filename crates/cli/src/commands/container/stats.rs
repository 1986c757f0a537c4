//! `berth stats [-a] [--no-stream] [--no-trunc] [--format] [CONTAINER...]`: one
//! `GET /containers/{id}/stats?stream=0` per container (the running ones from
//! `GET /containers/json` when none is named), in docker's columns: `CONTAINER ID NAME
//! CPU % MEM USAGE / LIMIT MEM % NET I/O BLOCK I/O PIDS`. Without `--no-stream` the
//! table is redrawn until interrupted.

use serde_json::{json, Value};

use crate::commands::container::short;
use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format::{self, units};

const CX: &str = "stats";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

const DEFAULT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

fn header(field: &str) -> String {
    match field {
        "ID" => "CONTAINER ID",
        "Container" => "CONTAINER",
        "Name" => "NAME",
        "CPUPerc" => "CPU %",
        "MemUsage" => "MEM USAGE / LIMIT",
        "MemPerc" => "MEM %",
        "NetIO" => "NET I/O",
        "BlockIO" => "BLOCK I/O",
        "PIDs" => "PIDS",
        other => return other.to_uppercase(),
    }
    .to_owned()
}

fn num(v: &Value, p: &str) -> f64 {
    v.pointer(p).and_then(Value::as_f64).unwrap_or(0.0)
}

/// One row from a stats sample, as docker computes it.
pub fn row(container: &str, s: &Value, no_trunc: bool) -> Value {
    let cpu_delta =
        num(s, "/cpu_stats/cpu_usage/total_usage") - num(s, "/precpu_stats/cpu_usage/total_usage");
    let sys_delta =
        num(s, "/cpu_stats/system_cpu_usage") - num(s, "/precpu_stats/system_cpu_usage");
    let mut online = num(s, "/cpu_stats/online_cpus");
    if online == 0.0 {
        online = s
            .pointer("/cpu_stats/cpu_usage/percpu_usage")
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as f64;
    }
    let cpu = if cpu_delta > 0.0 && sys_delta > 0.0 {
        cpu_delta / sys_delta * online * 100.0
    } else {
        0.0
    };
    // The page cache is not the container's own memory: cgroup v1 reports it as
    // total_inactive_file, v2 as inactive_file.
    let usage = num(s, "/memory_stats/usage");
    let inactive = s
        .pointer("/memory_stats/stats/total_inactive_file")
        .or_else(|| s.pointer("/memory_stats/stats/inactive_file"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let mem = if inactive < usage {
        usage - inactive
    } else {
        usage
    };
    let limit = num(s, "/memory_stats/limit");
    let mem_perc = if limit > 0.0 {
        mem / limit * 100.0
    } else {
        0.0
    };
    let (mut rx, mut tx) = (0.0, 0.0);
    for n in s["networks"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        rx += num(n, "/rx_bytes");
        tx += num(n, "/tx_bytes");
    }
    let (mut read, mut write) = (0.0, 0.0);
    for e in s
        .pointer("/blkio_stats/io_service_bytes_recursive")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match e["op"].as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read += num(e, "/value"),
            Some("write") => write += num(e, "/value"),
            _ => {}
        }
    }
    let id = s["id"].as_str().unwrap_or(container);
    let name = s["name"].as_str().unwrap_or("").trim_start_matches('/');
    let dec = |v: f64| units::human_size_with_precision(v, 3);
    json!({
        "Container": container,
        "ID": short(id, no_trunc),
        "Name": if name.is_empty() { "--" } else { name },
        "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", units::bytes_size(mem), units::bytes_size(limit)),
        "MemPerc": format!("{mem_perc:.2}%"),
        "NetIO": format!("{} / {}", dec(rx), dec(tx)),
        "BlockIO": format!("{} / {}", dec(read), dec(write)),
        "PIDs": s.pointer("/pids_stats/current").and_then(Value::as_u64).unwrap_or(0).to_string(),
    })
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let api = ctx.api(CX)?;
    let template = match args.format.as_deref() {
        None | Some("") | Some("table") => DEFAULT.to_owned(),
        Some(f) => f.to_owned(),
    };
    loop {
        let names: Vec<String> = if args.containers.is_empty() {
            api.block(api.client.container_list(args.all, None, false, None))
                .map_err(|e| CliError::api(CX, e))?
                .iter()
                .filter_map(|c| c["Id"].as_str().map(str::to_owned))
                .collect()
        } else {
            args.containers.clone()
        };
        let mut rows = Vec::new();
        for n in &names {
            let sample = api.block(async {
                let resp = api.client.container_stats(n, false).await?;
                berth_api_client::client_json(resp).await
            });
            match sample {
                Ok(s) => rows.push(row(n, &s, args.no_trunc)),
                Err(e) => return Err(CliError::api(CX, e)),
            }
        }
        let out = format::rows(&template, &rows, header).map_err(|e| CliError::usage(CX, e))?;
        if args.no_stream {
            return print(CX, &out);
        }
        // Clear the screen and home the cursor, then redraw, as docker's live view does.
        print(CX, &format!("\x1b[2J\x1b[H{out}"))?;
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_docker_columns() {
        let s = json!({
            "id": "0123456789abcdef", "name": "/web",
            "cpu_stats": {"cpu_usage": {"total_usage": 200}, "system_cpu_usage": 2000, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
            "memory_stats": {"usage": 2097152, "limit": 1073741824u64, "stats": {"total_inactive_file": 1048576}},
            "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 0}},
            "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096}, {"op": "Write", "value": 0}]},
            "pids_stats": {"current": 3}
        });
        let r = row("web", &s, false);
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["Name"], "web");
        assert_eq!(r["CPUPerc"], "20.00%");
        assert_eq!(r["MemUsage"], "1MiB / 1GiB");
        assert_eq!(r["MemPerc"], "0.10%");
        assert_eq!(r["NetIO"], "1.5kB / 0B");
        assert_eq!(r["BlockIO"], "4.1kB / 0B");
        assert_eq!(r["PIDs"], "3");
    }
}
