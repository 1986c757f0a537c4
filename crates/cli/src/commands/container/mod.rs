//! Container commands, one file each, over the Engine API; [`options`] holds the flags
//! `run` and `create` share, [`session`] the attach → wait → start flow of `run`,
//! `start -a` and `attach`.

pub mod attach;
pub mod commit;
pub mod cp;
pub mod create;
pub mod diff;
pub mod exec;
pub mod export;
pub mod inspect;
pub mod kill;
pub mod logs;
pub mod options;
pub mod pause;
pub mod port;
pub mod prune;
pub mod ps;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod run;
pub mod session;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;
pub mod unpause;
pub mod update;
pub mod wait;

use std::future::Future;

use crate::commands::Context;
use crate::error::{report_api, CliError};

/// The exit code docker gives a container that failed to start, from the daemon's
/// message: the command was not found (127), could not be invoked (126), or anything
/// else (125).
pub fn start_error_code(message: &str) -> i32 {
    if message.contains("executable file not found")
        || message.contains("no such file or directory")
        || message.contains("system cannot find the file specified")
    {
        127
    } else if message.contains("permission denied") || message.contains("is a directory") {
        126
    } else {
        125
    }
}

/// For commands over several containers (`stop a b`, `rm -f a b`): runs `op` on each,
/// prints the name as given on success and docker's error line otherwise; exit 1 when
/// any failed.
/// How many of `rm`, `stop`, `kill`… one command runs at a time.
const PARALLEL: usize = 16;

pub fn each<'a, F, Fut>(
    ctx: &'a Context,
    cx: &str,
    names: &'a [String],
    op: F,
) -> Result<(), CliError>
where
    F: Fn(&'a berth_api_client::Client, &'a str) -> Fut,
    Fut: Future<Output = berth_api_client::Result<()>>,
{
    use futures_util::StreamExt;
    let api = ctx.api(cx)?;
    let mut failed = false;
    let mut out = String::new();
    // Concurrently, as docker does (`rm -f` of 50 containers is 50 kills and waits); the
    // results are reported in the order given.
    let results: Vec<_> = api.block(
        futures_util::stream::iter(names.iter().map(|n| op(&api.client, n)))
            .buffered(PARALLEL)
            .collect(),
    );
    for (name, result) in names.iter().zip(results) {
        match result {
            Ok(()) => {
                out.push_str(name);
                out.push('\n');
                crate::commands::print(cx, &std::mem::take(&mut out))?;
            }
            Err(e) => {
                report_api(cx, e);
                failed = true;
            }
        }
    }
    if failed {
        Err(CliError::reported())
    } else {
        Ok(())
    }
}

/// A 12-digit id as docker's tables show them.
pub fn short(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        id.to_owned()
    } else {
        id.chars().take(12).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_errors_map_to_docker_codes() {
        assert_eq!(
            start_error_code("failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown"),
            127
        );
        assert_eq!(
            start_error_code("exec: \"/x\": stat /x: no such file or directory"),
            127
        );
        assert_eq!(start_error_code("exec: \"/etc\": permission denied"), 126);
        assert_eq!(start_error_code("cannot start: is a directory"), 126);
        assert_eq!(start_error_code("port is already allocated"), 125);
    }
}
