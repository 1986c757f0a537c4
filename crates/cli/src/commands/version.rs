//! `berth version [-f TEMPLATE]`: the client's version. There is no server section until
//! berthd exists.

use serde_json::json;

use crate::commands::print;
use crate::error::CliError;
use crate::format::{self, Template};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short, long)]
    pub format: Option<String>,
}

/// Go's names for the architecture, as docker reports it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

pub fn run(args: Args) -> Result<(), CliError> {
    const CX: &str = "version";
    let info = json!({
        "Client": {
            "Version": env!("CARGO_PKG_VERSION"),
            "Os": std::env::consts::OS,
            "Arch": go_arch(),
        }
    });
    let out = match args.format.as_deref() {
        None | Some("") => format!(
            "Client:\n Version:    {}\n OS/Arch:    {}/{}\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            go_arch()
        ),
        Some("json") => format!("{}\n", format::template::json(&info)),
        Some(f) => {
            let t = Template::parse(f).map_err(|e| CliError::usage(CX, e))?;
            format!("{}\n", t.render(&info).map_err(|e| CliError::usage(CX, e))?)
        }
    };
    print(CX, &out)
}
