//! `berth version [-f TEMPLATE]`: the client's version, then the server's from
//! `GET /version` (engine and components, as docker lays them out). Without a daemon the
//! client part is printed and the connection error follows (exit 1), as docker does;
//! with `--data-root` (daemonless) only the client part is printed.

use serde_json::{json, Value};

use crate::commands::{print, Context};
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

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_default()
}

/// The `Server:` section.
fn server_text(v: &Value) -> String {
    let mut out = String::from("Server:\n");
    out.push_str(&format!(
        " Engine:\n  Version:          {}\n  API version:      {} (minimum version {})\n  Go version:       {}\n  Git commit:       {}\n  Built:            {}\n  OS/Arch:          {}/{}\n  Experimental:     {}\n",
        s(v, "Version"),
        s(v, "ApiVersion"),
        s(v, "MinAPIVersion"),
        s(v, "GoVersion"),
        s(v, "GitCommit"),
        s(v, "BuildTime"),
        s(v, "Os"),
        s(v, "Arch"),
        v["Experimental"].as_bool().unwrap_or(false),
    ));
    for c in v["Components"].as_array().into_iter().flatten() {
        let name = s(c, "Name");
        if name == "Engine" {
            continue;
        }
        out.push_str(&format!(
            " {name}:\n  Version:          {}\n",
            s(c, "Version")
        ));
        if let Some(commit) = c.pointer("/Details/GitCommit").and_then(Value::as_str) {
            out.push_str(&format!("  GitCommit:        {commit}\n"));
        }
    }
    out
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "version";
    // The server is asked only if a host can be reached; a failure is reported after the
    // client part, as docker prints it.
    // Daemonless (`--data-root`): there is no server to ask.
    let daemonless = ctx.data_root.is_some();
    let server = if daemonless {
        Err(CliError::exit(0))
    } else {
        ctx.api(CX)
    }
    .and_then(|api| {
        api.block(async {
            let v = api.client.version().await?;
            let sv = api.client.system_version().await?;
            Ok::<_, berth_api_client::Error>((v, sv))
        })
        .map_err(|e| CliError::api(CX, e))
    });
    let (api_version, server_json) = match &server {
        Ok((v, sv)) => (Some(v.to_string()), Some(sv.clone())),
        Err(_) => (None, None),
    };
    let client = json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": api_version.clone().unwrap_or_else(|| berth_api_client::ApiVersion::MAX.to_string()),
        "Os": std::env::consts::OS,
        "Arch": go_arch(),
    });
    let info = json!({ "Client": client, "Server": server_json.clone().unwrap_or(Value::Null) });
    let out = match args.format.as_deref() {
        None | Some("") => {
            let mut out = format!(
                "Client:\n Version:           {}\n API version:       {}\n OS/Arch:           {}/{}\n",
                env!("CARGO_PKG_VERSION"),
                client["ApiVersion"].as_str().unwrap_or_default(),
                std::env::consts::OS,
                go_arch()
            );
            if let Some(sv) = &server_json {
                out.push('\n');
                out.push_str(&server_text(sv));
            }
            out
        }
        Some("json") => format!("{}\n", format::template::json(&info)),
        Some(f) => {
            let t = Template::parse(f).map_err(|e| CliError::usage(CX, e))?;
            match t.render(&info) {
                Ok(s) => format!("{s}\n"),
                Err(e) if server.is_ok() => return Err(CliError::usage(CX, e)),
                Err(_) => String::new(),
            }
        }
    };
    print(CX, &out)?;
    if daemonless {
        return Ok(());
    }
    server.map(|_| ())
}
