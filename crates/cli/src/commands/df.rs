//! `berth system df [--format]`: disk usage, docker's columns (`TYPE TOTAL ACTIVE SIZE
//! RECLAIMABLE`) and fields (`.Type .TotalCount .Active .Size .Reclaimable`). Over the
//! API (`GET /system/df`) the four rows docker shows (images, containers, local volumes,
//! build cache); the volumes row counts the daemon's `Volumes` (active: `RefCount` > 0,
//! reclaimable: the unused ones' `Size`), zeros when it lists none; daemonless
//! (`--data-root`) the images row only.

use serde_json::json;

use crate::backend::ImagesDiskUsage;
use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format::{self, units};

const CX: &str = "system df";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let du = ctx
        .images(CX)?
        .disk_usage()
        .map_err(|e| CliError::failed(CX, e))?;
    let mut rows = vec![row(&du)];
    if ctx.data_root.is_none() {
        let api = ctx.api(CX)?;
        let v = api
            .block(api.client.system_df())
            .map_err(|e| CliError::api(CX, e))?;
        rows.extend(other_rows(&v));
    }
    let template = match args.format.as_deref() {
        None | Some("") | Some("table") => {
            "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
        }
        Some(f) => f,
    };
    let out = format::rows(template, &rows, header).map_err(|e| CliError::usage(CX, e))?;
    print(CX, &out)
}

fn header(field: &str) -> String {
    match field {
        "TotalCount" => "TOTAL".to_owned(),
        other => other.to_uppercase(),
    }
}

/// A row of counts and sizes.
fn usage_row(
    kind: &str,
    total: usize,
    active: usize,
    size: u64,
    reclaim: u64,
) -> serde_json::Value {
    json!({
        "Type": kind,
        "TotalCount": total.to_string(),
        "Active": active.to_string(),
        "Size": units::human_size(size),
        "Reclaimable": reclaimable(reclaim, size),
    })
}

/// The containers, local volumes and build cache rows of `GET /system/df`.
fn other_rows(v: &serde_json::Value) -> Vec<serde_json::Value> {
    use serde_json::Value;
    let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    let size = |x: &Value, p: &str| x.pointer(p).and_then(Value::as_i64).unwrap_or(0).max(0) as u64;
    let containers = list("Containers");
    let running = |c: &Value| c["State"].as_str() == Some("running");
    let c_size: u64 = containers.iter().map(|c| size(c, "/SizeRw")).sum();
    let c_reclaim: u64 = containers
        .iter()
        .filter(|c| !running(c))
        .map(|c| size(c, "/SizeRw"))
        .sum();
    let volumes = list("Volumes");
    let used = |x: &Value| {
        x.pointer("/UsageData/RefCount")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            > 0
    };
    let v_size: u64 = volumes.iter().map(|x| size(x, "/UsageData/Size")).sum();
    let v_reclaim: u64 = volumes
        .iter()
        .filter(|x| !used(x))
        .map(|x| size(x, "/UsageData/Size"))
        .sum();
    let cache = list("BuildCache");
    let in_use = |x: &Value| x["InUse"].as_bool().unwrap_or(false);
    let b_size: u64 = cache.iter().map(|x| size(x, "/Size")).sum();
    let b_reclaim: u64 = cache
        .iter()
        .filter(|x| !in_use(x) && !x["Shared"].as_bool().unwrap_or(false))
        .map(|x| size(x, "/Size"))
        .sum();
    vec![
        usage_row(
            "Containers",
            containers.len(),
            containers.iter().filter(|c| running(c)).count(),
            c_size,
            c_reclaim,
        ),
        usage_row(
            "Local Volumes",
            volumes.len(),
            volumes.iter().filter(|x| used(x)).count(),
            v_size,
            v_reclaim,
        ),
        usage_row(
            "Build Cache",
            cache.len(),
            cache.iter().filter(|x| in_use(x)).count(),
            b_size,
            b_reclaim,
        ),
    ]
}

fn row(du: &ImagesDiskUsage) -> serde_json::Value {
    json!({
        "Type": "Images",
        "TotalCount": du.total.to_string(),
        "Active": du.active.to_string(),
        "Size": units::human_size(du.size),
        "Reclaimable": reclaimable(du.reclaimable, du.size),
    })
}

/// `1.2MB (50%)`, as docker writes it.
fn reclaimable(reclaimable: u64, size: u64) -> String {
    if size == 0 {
        return units::human_size(reclaimable);
    }
    format!(
        "{} ({}%)",
        units::human_size(reclaimable),
        reclaimable.saturating_mul(100) / size
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_like_docker() {
        let du = ImagesDiskUsage {
            total: 2,
            active: 0,
            size: 4_261_376,
            reclaimable: 2_130_688,
        };
        let out = format::rows(
            "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
            &[row(&du)],
            header,
        )
        .unwrap();
        assert_eq!(
            out,
            "TYPE      TOTAL     ACTIVE    SIZE      RECLAIMABLE\n\
             Images    2         0         4.261MB   2.131MB (50%)\n"
        );
        assert_eq!(reclaimable(0, 0), "0B");
    }

    #[test]
    fn local_volumes_from_the_daemon() {
        let v = json!({"Volumes": [
            {"Name": "a", "UsageData": {"Size": 3000, "RefCount": 1}},
            {"Name": "b", "UsageData": {"Size": 1000, "RefCount": 0}},
            {"Name": "c", "UsageData": {"Size": -1, "RefCount": -1}},
        ]});
        let rows = other_rows(&v);
        assert_eq!(rows[1]["Type"], "Local Volumes");
        assert_eq!(rows[1]["TotalCount"], "3");
        assert_eq!(rows[1]["Active"], "1");
        assert_eq!(rows[1]["Size"], "4kB");
        assert_eq!(rows[1]["Reclaimable"], "1kB (25%)");
        // an empty list, or none at all, is a row of zeros
        for v in [json!({"Volumes": []}), json!({"Volumes": null})] {
            let rows = other_rows(&v);
            assert_eq!(rows[1]["TotalCount"], "0");
            assert_eq!(rows[1]["Size"], "0B");
        }
    }
}
