//! Parses one command's flags alone, for the unit tests of the command files: each
//! `Args` is a `#[command(flatten)]` part of the real command line, so the tests need a
//! command around it, and this one serves them all.

use clap::{Args, Command};

/// `argv` (without the program name) parsed as `A`, or clap's error for it.
pub(crate) fn parse_args<A: Args>(argv: &[&str]) -> Result<A, clap::Error> {
    // clap takes the first word as the program's name.
    let matches = A::augment_args(Command::new("berth"))
        .try_get_matches_from(std::iter::once("berth").chain(argv.iter().copied()))?;
    A::from_arg_matches(&matches)
}

/// [`parse_args`] for the tests whose flags must be accepted.
pub(crate) fn parsed<A: Args>(argv: &[&str]) -> A {
    parse_args(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"))
}
