//! `berth commit [-a AUTHOR] [-m MESSAGE] [-c CHANGE] [-p] CONTAINER [REPOSITORY[:TAG]]`:
//! `POST /commit?container&repo&tag&comment&author&changes&pause`; prints the image id.

use crate::commands::{print, Context};
use crate::error::CliError;
use berth_api_client::Query;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub pause: bool,
    pub container: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "commit";
    let (repo, tag) = match &args.reference {
        None => (None, None),
        Some(r) => match r.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (Some(n.to_owned()), Some(t.to_owned())),
            _ => (Some(r.clone()), None),
        },
    };
    let mut q = Query::new()
        .add("container", &args.container)
        .opt("repo", repo)
        .opt("tag", tag)
        .opt("comment", args.message.as_deref())
        .opt("author", args.author.as_deref())
        .add("pause", if args.pause { "1" } else { "0" });
    for c in &args.change {
        q = q.add("changes", c);
    }
    let api = ctx.api(CX)?;
    let v = api
        .block(api.client.commit(&q, Some(&serde_json::json!({}))))
        .map_err(|e| CliError::api(CX, e))?;
    print(CX, &format!("{}\n", v["Id"].as_str().unwrap_or_default()))
}
