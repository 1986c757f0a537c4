//! `berth volume inspect [-f TEMPLATE] VOLUME...`: `GET /volumes/{name}` as a JSON array
//! indented like docker's (fields in the order of docker's volume struct), or one
//! template rendering per volume. Missing ones are error lines (exit 1), the found ones
//! printed anyway.

use crate::commands::container::inspect::{render, template};
use crate::commands::{print, Context};
use crate::error::CliError;

/// The order of docker's volume fields.
pub const DOCKER_ORDER: &[&str] = &[
    "ClusterVolume",
    "CreatedAt",
    "Driver",
    "Labels",
    "Mountpoint",
    "Name",
    "Options",
    "Scope",
    "Status",
    "UsageData",
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(value_name = "VOLUME", required = true)]
    pub volumes: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "volume inspect";
    let t = template(CX, args.format.as_deref())?;
    let api = ctx.api(CX)?;
    let (found, failed) = api.each_found(CX, &args.volumes, |c, name| c.volume_inspect(name));
    print(CX, &render(CX, &found, t.as_ref(), DOCKER_ORDER)?)?;
    if failed {
        Err(CliError::reported())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Template;

    fn volume() -> serde_json::Value {
        serde_json::json!({
            "Name": "zz10", "Driver": "local", "Scope": "local",
            "Mountpoint": "/d/volumes/zz10/_data", "CreatedAt": "2026-12-01T21:58:43Z",
            "Labels": {"a": "1", "b": "2"}, "Options": {"device": "tmpfs", "type": "tmpfs"},
        })
    }

    #[test]
    fn json_like_docker() {
        let out = render("t", &[volume()], None, DOCKER_ORDER).unwrap();
        assert_eq!(
            out,
            r#"[
    {
        "CreatedAt": "2026-12-01T21:58:43Z",
        "Driver": "local",
        "Labels": {
            "a": "1",
            "b": "2"
        },
        "Mountpoint": "/d/volumes/zz10/_data",
        "Name": "zz10",
        "Options": {
            "device": "tmpfs",
            "type": "tmpfs"
        },
        "Scope": "local"
    }
]
"#
        );
    }

    #[test]
    fn template_per_volume() {
        let t = Template::parse("{{.Name}} {{.Driver}}").unwrap();
        let out = render("t", &[volume(), volume()], Some(&t), DOCKER_ORDER).unwrap();
        assert_eq!(out, "zz10 local\nzz10 local\n");
    }
}
