//! `berth info [-f TEMPLATE]`: `GET /info`, laid out as docker lays it out (the fields a
//! daemon commonly fills); a template sees the daemon's JSON.

use serde_json::Value;

use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format::{self, units, Template};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short, long)]
    pub format: Option<String>,
}

fn field(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The `Server:` text.
pub fn server_text(v: &Value) -> String {
    let mut o = String::from("Server:\n");
    let mut line = |k: &str, val: String| o.push_str(&format!(" {k}: {val}\n"));
    line("Containers", field(v, "Containers"));
    line(" Running", field(v, "ContainersRunning"));
    line(" Paused", field(v, "ContainersPaused"));
    line(" Stopped", field(v, "ContainersStopped"));
    line("Images", field(v, "Images"));
    line("Server Version", field(v, "ServerVersion"));
    line("Storage Driver", field(v, "Driver"));
    for pair in v["DriverStatus"].as_array().into_iter().flatten() {
        if let (Some(k), Some(val)) = (pair[0].as_str(), pair[1].as_str()) {
            line(&format!(" {k}"), val.to_owned());
        }
    }
    line("Logging Driver", field(v, "LoggingDriver"));
    line("Cgroup Driver", field(v, "CgroupDriver"));
    line("Cgroup Version", field(v, "CgroupVersion"));
    line("Default Runtime", field(v, "DefaultRuntime"));
    line("Kernel Version", field(v, "KernelVersion"));
    line("Operating System", field(v, "OperatingSystem"));
    line("OSType", field(v, "OSType"));
    line("Architecture", field(v, "Architecture"));
    line("CPUs", field(v, "NCPU"));
    line(
        "Total Memory",
        units::bytes_size(v["MemTotal"].as_f64().unwrap_or(0.0)),
    );
    line("Name", field(v, "Name"));
    line("ID", field(v, "ID"));
    line("Docker Root Dir", field(v, "DockerRootDir"));
    line("Debug Mode", field(v, "Debug"));
    line("Experimental", field(v, "ExperimentalBuild"));
    line("Live Restore Enabled", field(v, "LiveRestoreEnabled"));
    o
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "info";
    let api = ctx.api(CX)?;
    let info = api
        .block(api.client.system_info())
        .map_err(|e| CliError::api(CX, e))?;
    let out = match args.format.as_deref() {
        None | Some("") => format!(
            "Client:\n Version:    {}\n Context:    default\n Debug Mode: false\n\n{}",
            env!("CARGO_PKG_VERSION"),
            server_text(&info)
        ),
        Some("json") => format!("{}\n", format::template::json(&info)),
        Some(f) => {
            let t = Template::parse(f).map_err(|e| CliError::usage(CX, e))?;
            format!("{}\n", t.render(&info).map_err(|e| CliError::usage(CX, e))?)
        }
    };
    print(CX, &out)
}
