//! berth-cli: the `berth` command line, with docker's commands, flags and output.
//!
//! Owns argument parsing ([`app`]), one module per command ([`commands`]), output
//! formatting (tables, Go-style templates: [`format`]), errors and exit codes ([`error`]:
//! one `berth: error: …` line, 125 for a wrong command line, 1 for a failed operation).
//!
//! Commands reach the daemon through `berth-api-client` (the Engine API over a unix
//! socket: `-H/--host`, `BERTH_HOST`, `DOCKER_HOST`, `unix:///run/berth/berth.sock`).
//! Image commands go through [`backend::ImageBackend`]: over the API by default
//! ([`backend::api`]), or on the image store opened in-process when `--data-root` is
//! given ([`backend::local`], daemonless image access). Container commands live in
//! [`commands::container`], volume commands in [`commands::volume`]; flag values are
//! parsed in [`opts`] as the docker CLI parses them; terminal and stream handling (raw
//! mode, resize, signal proxying, attach streams) in [`stdio`]. The CLI never links the
//! engine.

pub mod app;
pub mod backend;
pub mod commands;
pub mod error;
pub mod format;
pub mod opts;
pub mod stdio;

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::Parser;

/// Parses `args` (program name first), runs the command, and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match app::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match commands::dispatch(cli) {
        Ok(()) => 0,
        Err(e) => {
            if let Some(line) = e.line() {
                eprintln!("{line}");
            }
            e.code()
        }
    }
}

/// Help and version go to stdout as clap writes them; any other parse error becomes one
/// line naming the problem and where to look (`see 'berth images --help'`), exit 125.
fn usage_error(e: clap::Error) -> i32 {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return 0;
        }
        _ => {}
    }
    let rendered = e.render().to_string();
    // The message is the first paragraph ("the following required arguments were not
    // provided:" is followed by the arguments, one a line).
    let paragraph: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let joined = paragraph.join(" ");
    let message = joined.strip_prefix("error: ").unwrap_or(&joined);
    let command = match e.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(usage)) => command_path(&usage.to_string()),
        _ => "berth".to_owned(),
    };
    eprintln!("berth: error: {message} (see '{command} --help')");
    error::USAGE
}

/// `berth image ls` from a usage line such as `Usage: berth image ls [OPTIONS]`.
fn command_path(usage: &str) -> String {
    let line = usage.lines().next().unwrap_or("");
    let line = line.trim_start().strip_prefix("Usage:").unwrap_or(line);
    let words: Vec<&str> = line
        .split_whitespace()
        .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect();
    if words.is_empty() {
        "berth".to_owned()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_path_from_usage() {
        assert_eq!(
            command_path("Usage: berth image ls [OPTIONS]"),
            "berth image ls"
        );
        assert_eq!(
            command_path("Usage: berth tag <SOURCE_IMAGE[:TAG]>"),
            "berth tag"
        );
        assert_eq!(command_path(""), "berth");
    }
}
