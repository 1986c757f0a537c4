use berth_runtime::{Container, StateRoot};

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// table or json
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Print only the ids
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(root: &StateRoot, a: &Args) -> Outcome {
    let containers: Vec<Container> = root.ids()?.iter().filter_map(|id| Container::load(root, id).ok()).collect();
    if a.quiet {
        for c in &containers {
            println!("{}", c.id());
        }
        return Ok(0);
    }
    match a.format.as_str() {
        "json" => {
            let v: Vec<_> = containers.iter().map(|c| c.state.to_oci_json(c.status)).collect();
            println!("{}", serde_json::to_string(&v)?);
        }
        "table" => {
            let rows: Vec<[String; 6]> = containers
                .iter()
                .map(|c| {
                    let pid = if c.status == berth_runtime::Status::Stopped { 0 } else { c.state.pid };
                    [
                        c.id().to_string(),
                        pid.to_string(),
                        c.status.to_string(),
                        c.state.bundle.display().to_string(),
                        c.state.created.clone(),
                        if c.state.owner.is_empty() { "root".into() } else { c.state.owner.clone() },
                    ]
                })
                .collect();
            let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
            let mut widths = header.clone().map(|h| h.len());
            for r in &rows {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.len());
                }
            }
            for r in std::iter::once(&header).chain(rows.iter()) {
                let line: Vec<String> = r.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
                println!("{}", line.join("   ").trim_end());
            }
        }
        f => return Err(format!("invalid format {f:?}: use table or json").into()),
    }
    Ok(0)
}
