//! `berth push NAME[:TAG]`: `POST /images/{name}/push` with the stored login as
//! `X-Registry-Auth`, the progress stream drawn as `pull` draws it; an error (the
//! daemon's or in the stream) exits 1.

use berth_api_client::stream::for_each_json;

use crate::commands::pull::{registry_auth, stream_error, Progress};
use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long)]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(value_name = "NAME[:TAG]")]
    pub name: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "push";
    let api = ctx.api(CX)?;
    let tagged = args.name.contains('@')
        || args
            .name
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'));
    if !tagged && !args.all_tags && !args.quiet {
        println!("Using default tag: latest");
    }
    let (name, tag) = match args.name.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') && !args.all_tags => (n.to_owned(), Some(t.to_owned())),
        // No tag sent: the daemon pushes every tag of the repository.
        _ if args.all_tags || args.name.contains('@') => (args.name.clone(), None),
        _ => (args.name.clone(), Some("latest".to_owned())),
    };
    let auth = registry_auth(&name);
    let mut shown = Progress::new(false);
    api.block(async {
        let resp = api
            .client
            .image_push_auth(&name, tag.as_deref(), auth.as_deref())
            .await
            .map_err(|e| CliError::api(CX, e))?;
        let mut body = resp.into_body();
        let mut failure = None;
        for_each_json(&mut body, |v| {
            if let Some(e) = stream_error(&v) {
                failure = Some(e);
                return Ok(false);
            }
            if !args.quiet {
                shown.show(&v);
            }
            Ok(true)
        })
        .await
        .map_err(|e| CliError::api(CX, e))?;
        failure.map_or(Ok(()), |e| Err(CliError::bare(1, e)))
    })
}
