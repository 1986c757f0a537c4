//! `berth top CONTAINER [ps OPTIONS]`: `GET /containers/{id}/top`, the `Titles` and
//! `Processes` as an aligned table.

use serde_json::Value;

use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format::table;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "top";
    let api = ctx.api(CX)?;
    let ps_args = (!args.ps_args.is_empty()).then(|| args.ps_args.join(" "));
    let top = api
        .block(
            api.client
                .container_top(&args.container, ps_args.as_deref()),
        )
        .map_err(|e| CliError::api(CX, e))?;
    print(CX, &render(&top))
}

fn render(top: &Value) -> String {
    let cells = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut text = cells(&top["Titles"]).join("\t");
    text.push('\n');
    for p in top["Processes"].as_array().into_iter().flatten() {
        text.push_str(&cells(p).join("\t"));
        text.push('\n');
    }
    table::align_with(&text, 20, 3)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_titles_and_processes() {
        let v = serde_json::json!({"Titles":["UID","PID","CMD"],"Processes":[["root","12","sleep 100"]]});
        assert_eq!(
            super::render(&v),
            "UID                 PID                 CMD\nroot                12                  sleep 100\n"
        );
    }
}
