//! `GET /containers/{id}/top`: the host's `ps` (with the client's arguments, `-ef` by
//! default), keeping the rows whose PID is one of the container's.

use serde_json::{json, Value};

use crate::container::Container;
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::runtime;

pub async fn top(d: &Daemon, c: &Container, ps_args: &str) -> Result<Value> {
    if !c.status().is_running() {
        return Err(Error::Conflict(format!("container {} is not running", c.id)));
    }
    let pids = runtime::pids(d, &c.id).await?;
    let args: Vec<&str> = if ps_args.trim().is_empty() { vec!["-ef"] } else { ps_args.split_whitespace().collect() };
    let out = tokio::process::Command::new("ps")
        .args(&args)
        .output()
        .await
        .map_err(|e| Error::internal("run ps", e))?;
    if !out.status.success() {
        return Err(Error::Internal(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    parse(&String::from_utf8_lossy(&out.stdout), &pids)
}

fn parse(out: &str, pids: &[i32]) -> Result<Value> {
    let mut lines = out.lines();
    let header = lines.next().unwrap_or("");
    let titles: Vec<&str> = header.split_whitespace().collect();
    let pid_col = titles
        .iter()
        .position(|t| *t == "PID")
        .ok_or_else(|| Error::Invalid("Couldn't find PID field in ps output".into()))?;
    let mut processes = Vec::new();
    for l in lines {
        let fields: Vec<&str> = l.split_whitespace().collect();
        if fields.len() < titles.len() {
            continue;
        }
        let Ok(pid) = fields[pid_col].parse::<i32>() else { continue };
        if !pids.contains(&pid) {
            continue;
        }
        // The last column (the command) keeps its spaces.
        let mut row: Vec<String> = fields[..titles.len() - 1].iter().map(|s| s.to_string()).collect();
        row.push(fields[titles.len() - 1..].join(" "));
        processes.push(row);
    }
    Ok(json!({"Titles": titles, "Processes": processes}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_rows() {
        let out = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 /sbin/init\nroot 42 1 0 10:00 ? 00:00:00 sleep 100\n";
        let v = parse(out, &[42]).unwrap();
        assert_eq!(v["Processes"], json!([["root", "42", "1", "0", "10:00", "?", "00:00:00", "sleep 100"]]));
    }
}
