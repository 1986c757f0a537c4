//! `berth volume create [NAME] [-d DRIVER] [-o key=value]... [--label k=v]...`:
//! `POST /volumes/create`; prints the volume's name (the daemon picks one when none is
//! given).

use std::collections::HashMap;

use berth_api_client::models::VolumeCreateRequest;

use crate::commands::{print, Context};
use crate::error::CliError;
use crate::opts::key_value;

const CX: &str = "volume create";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Specify volume driver name
    #[arg(short, long, default_value = "local")]
    pub driver: String,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    pub opts: Vec<String>,
    /// Set metadata for a volume
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Specify volume name
    #[arg(long = "name", hide = true)]
    pub name_flag: Option<String>,
    #[arg(value_name = "VOLUME")]
    pub name: Option<String>,
}

/// The request body; the name from the argument or `--name`, not two different ones.
pub fn request(args: &Args) -> Result<VolumeCreateRequest, String> {
    let name = match (&args.name, &args.name_flag) {
        (Some(a), Some(b)) if a != b => {
            return Err(format!(
                "conflicting options: either specify --name or provide positional arg, not both ({b:?} and {a:?})"
            ))
        }
        (Some(a), _) => Some(a.clone()),
        (None, b) => b.clone(),
    };
    let map = |items: &[String]| -> HashMap<String, String> {
        items.iter().map(|s| key_value(s)).collect()
    };
    Ok(VolumeCreateRequest {
        name,
        driver: Some(args.driver.clone()),
        driver_opts: Some(map(&args.opts)),
        labels: Some(map(&args.labels)),
        ..Default::default()
    })
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let body = request(&args).map_err(|e| CliError::usage(CX, e))?;
    let api = ctx.api(CX)?;
    let v = api
        .block(api.client.volume_create(&body))
        .map_err(|e| CliError::api(CX, e))?;
    let name = v["Name"].as_str().unwrap_or_default();
    print(CX, &format!("{name}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_args::parsed;

    #[test]
    fn flags_make_the_body() {
        let a: Args = parsed(&[
            "-d",
            "local",
            "-o",
            "type=tmpfs",
            "--opt",
            "device=tmpfs",
            "--label",
            "a=1",
            "--label",
            "b",
            "data",
        ]);
        let r = request(&a).unwrap();
        assert_eq!(r.name.as_deref(), Some("data"));
        assert_eq!(r.driver.as_deref(), Some("local"));
        let opts = r.driver_opts.unwrap();
        assert_eq!(opts["type"], "tmpfs");
        assert_eq!(opts["device"], "tmpfs");
        let labels = r.labels.unwrap();
        assert_eq!(labels["a"], "1");
        assert_eq!(labels["b"], "");
    }

    #[test]
    fn name_is_optional_and_driver_defaults_to_local() {
        let r = request(&parsed(&[])).unwrap();
        assert_eq!(r.name, None);
        assert_eq!(r.driver.as_deref(), Some("local"));
        let r = request(&parsed(&["--name", "x"])).unwrap();
        assert_eq!(r.name.as_deref(), Some("x"));
        assert!(request(&parsed(&["--name", "x", "y"])).is_err());
    }
}
