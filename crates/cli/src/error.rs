//! The CLI's error: one line on stderr and an exit code chosen as docker chooses them:
//! 125 when the command line itself is wrong (flags, arguments, templates, filters) or
//! `run`/`create` failed before the container ran, 1 when an operation failed (no such
//! image, I/O, the daemon refused), and a container's own exit code for `run`, `start -a`
//! and `exec`.
//!
//! Most lines read `berth: error: <context>: <message>`; the daemon's refusals are
//! printed with docker's wording alone (`Error response from daemon: No such container:
//! x`), which scripts written for docker match.

use std::fmt::Display;

/// Exit code for a wrong command line.
pub const USAGE: i32 = 125;
/// Exit code for an operation that failed.
pub const FAILED: i32 = 1;

#[derive(Debug)]
pub struct CliError {
    code: i32,
    /// `None` when the command already printed its errors (one per failed operand).
    message: Option<String>,
    /// Printed without the `berth: error: ` prefix.
    bare: bool,
}

impl CliError {
    pub fn usage(context: &str, message: impl Display) -> CliError {
        CliError::new(USAGE, format!("{context}: {message}"))
    }

    pub fn failed(context: &str, message: impl Display) -> CliError {
        CliError::new(FAILED, format!("{context}: {message}"))
    }

    fn new(code: i32, message: String) -> CliError {
        CliError {
            code,
            message: Some(message),
            bare: false,
        }
    }

    /// An API error with exit code 1.
    pub fn api(context: &str, e: berth_api_client::Error) -> CliError {
        CliError::api_code(FAILED, context, e)
    }

    /// An API error with `code`: the daemon's refusals bare, in docker's wording, the
    /// rest after the context.
    pub fn api_code(code: i32, context: &str, e: berth_api_client::Error) -> CliError {
        match e {
            berth_api_client::Error::Daemon { .. } => CliError {
                code,
                message: Some(e.to_string()),
                bare: true,
            },
            e => CliError::new(code, format!("{context}: {e}")),
        }
    }

    /// Any message with a chosen exit code.
    pub fn with_code(code: i32, context: &str, message: impl Display) -> CliError {
        CliError::new(code, format!("{context}: {message}"))
    }

    /// The errors were already printed with [`report`]; only the exit code is left.
    pub fn reported() -> CliError {
        CliError::exit(FAILED)
    }

    /// Nothing to print, exit with `code` (a container's exit code).
    pub fn exit(code: i32) -> CliError {
        CliError {
            code,
            message: None,
            bare: false,
        }
    }

    /// The same error with another exit code.
    pub fn with_exit(mut self, code: i32) -> CliError {
        self.code = code;
        self
    }

    /// A line printed as is (no prefix), with `code`.
    pub fn bare(code: i32, message: impl Display) -> CliError {
        CliError {
            code,
            message: Some(message.to_string()),
            bare: true,
        }
    }

    pub fn code(&self) -> i32 {
        self.code
    }

    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The line to print, prefix included.
    pub fn line(&self) -> Option<String> {
        let m = self.message.as_deref()?;
        Some(if self.bare {
            m.to_owned()
        } else {
            format!("berth: error: {m}")
        })
    }
}

/// Prints one error line now, for commands that go on with their other operands.
pub fn report(context: &str, message: impl Display) {
    eprintln!("berth: error: {context}: {message}");
}

/// Prints an API error now, as [`CliError::api`] would.
pub fn report_api(context: &str, e: berth_api_client::Error) {
    if let Some(line) = CliError::api(context, e).line() {
        eprintln!("{line}");
    }
}
