use berth_runtime::{Container, StateRoot};

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// table or json
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Options passed to ps(1) (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(root: &StateRoot, a: &Args) -> Outcome {
    let c = Container::load(root, &a.id)?;
    let pids = c.pids()?;
    if a.format == "json" {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(0);
    }
    let args = if a.ps_args.is_empty() { vec!["-ef".to_string()] } else { a.ps_args.clone() };
    let out = std::process::Command::new("ps").args(&args).output().map_err(|e| format!("run ps: {e}"))?;
    if !out.status.success() {
        return Err(format!("ps {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header.split_whitespace().position(|h| h == "PID").ok_or("ps output has no PID column")?;
    println!("{header}");
    for l in lines {
        if l.split_whitespace().nth(col).and_then(|p| p.parse::<i32>().ok()).is_some_and(|p| pids.contains(&p)) {
            println!("{l}");
        }
    }
    Ok(0)
}
