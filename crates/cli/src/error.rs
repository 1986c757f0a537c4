//! The CLI's error: one line on stderr, `berth: error: <context>: <message>`, and an exit
//! code chosen as docker chooses them: 125 when the command line itself is wrong (flags,
//! arguments, templates, filters), 1 when the operation failed (no such image, I/O, the
//! store refused).

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
}

impl CliError {
    pub fn usage(context: &str, message: impl Display) -> CliError {
        CliError {
            code: USAGE,
            message: Some(format!("{context}: {message}")),
        }
    }

    pub fn failed(context: &str, message: impl Display) -> CliError {
        CliError {
            code: FAILED,
            message: Some(format!("{context}: {message}")),
        }
    }

    /// The errors were already printed with [`report`]; only the exit code is left.
    pub fn reported() -> CliError {
        CliError {
            code: FAILED,
            message: None,
        }
    }

    pub fn code(&self) -> i32 {
        self.code
    }

    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

/// Prints one error line now, for commands that go on with their other operands.
pub fn report(context: &str, message: impl Display) {
    eprintln!("berth: error: {context}: {message}");
}
