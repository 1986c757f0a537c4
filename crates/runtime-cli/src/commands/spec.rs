use std::path::PathBuf;

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write config.json
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
}

/// `--rootless` is the global flag (runc has it on `spec` and globally).
pub fn run(a: &Args, rootless: bool) -> Outcome {
    let path = a.bundle.join("config.json");
    if path.exists() {
        return Err(format!("{} already exists", path.display()).into());
    }
    let v = berth_runtime::defaults::spec_template(rootless);
    std::fs::write(&path, serde_json::to_string_pretty(&v)? + "\n").map_err(|e| format!("write {}: {e}", path.display()))?;
    Ok(0)
}
