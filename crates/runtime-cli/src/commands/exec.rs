use std::path::PathBuf;

use berth_runtime::container::{self, ExecOptions};
use berth_runtime::{Container, StateRoot};
use oci_spec::runtime::Process;

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// The command and its arguments (unless --process)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// A process.json (the OCI process object) to run
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    #[arg(short, long)]
    pub detach: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// KEY=VALUE, repeatable
    #[arg(short, long)]
    pub env: Vec<String>,
    /// UID[:GID]
    #[arg(short, long)]
    pub user: Option<String>,
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// A capability to add, repeatable
    #[arg(short, long)]
    pub cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    #[arg(long)]
    pub apparmor: Option<String>,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    #[arg(long = "ignore-paused", hide = true)]
    pub ignore_paused: bool,
    #[arg(long, hide = true)]
    pub cgroup: Option<String>,
}

fn build_process(root: &StateRoot, a: &Args) -> Result<Process, Box<dyn std::error::Error>> {
    if let Some(p) = &a.process {
        let data = std::fs::read(p).map_err(|e| format!("read {}: {e}", p.display()))?;
        return Ok(serde_json::from_slice(&data).map_err(|e| format!("parse {}: {e}", p.display()))?);
    }
    if a.command.is_empty() {
        return Err("exec needs a command or --process".into());
    }
    let c = Container::load(root, &a.id)?;
    let mut v = serde_json::to_value(c.state.config.process().clone().unwrap_or_default())?;
    v["args"] = serde_json::json!(a.command);
    v["terminal"] = serde_json::json!(a.tty);
    if let Some(cwd) = &a.cwd {
        v["cwd"] = serde_json::json!(cwd);
    }
    if !a.env.is_empty() {
        let env = v["env"].as_array_mut().map(std::mem::take).unwrap_or_default();
        let mut env: Vec<serde_json::Value> = env;
        env.extend(a.env.iter().map(|e| serde_json::json!(e)));
        v["env"] = serde_json::Value::Array(env);
    }
    if let Some(u) = &a.user {
        let (uid, gid) = u.split_once(':').unwrap_or((u, "0"));
        v["user"]["uid"] = serde_json::json!(uid.parse::<u32>().map_err(|_| format!("bad --user {u:?}"))?);
        v["user"]["gid"] = serde_json::json!(gid.parse::<u32>().map_err(|_| format!("bad --user {u:?}"))?);
    }
    if !a.additional_gids.is_empty() {
        v["user"]["additionalGids"] = serde_json::json!(a.additional_gids);
    }
    // Unknown names are dropped with a warning, as in config.json.
    let known: Vec<&String> = a
        .cap
        .iter()
        .filter(|c| {
            let ok = berth_runtime::capabilities::number(c).is_ok();
            if !ok {
                eprintln!("warning: ignoring unknown capability {c:?}");
            }
            ok
        })
        .collect();
    if !known.is_empty() {
        // Added to the sets that make it usable by the process itself (as crun does); not
        // inheritable/ambient, so it does not pass on across the process's own execs.
        for set in ["bounding", "effective", "permitted"] {
            let mut caps: Vec<serde_json::Value> = v["capabilities"][set].as_array().cloned().unwrap_or_default();
            caps.extend(known.iter().map(|c| serde_json::json!(c)));
            v["capabilities"][set] = serde_json::Value::Array(caps);
        }
    }
    if a.no_new_privs {
        v["noNewPrivileges"] = serde_json::json!(true);
    }
    if let Some(l) = &a.process_label {
        v["selinuxLabel"] = serde_json::json!(l);
    }
    if let Some(p) = &a.apparmor {
        v["apparmorProfile"] = serde_json::json!(p);
    }
    Ok(serde_json::from_value(v)?)
}

pub fn run(root: &StateRoot, a: &Args) -> Outcome {
    let process = build_process(root, a)?;
    let o = ExecOptions {
        process,
        console_socket: a.console_socket.clone(),
        pid_file: a.pid_file.clone(),
        detach: a.detach,
        preserve_fds: a.preserve_fds,
    };
    Ok(container::exec(root, &a.id, &o)?)
}
