//! Errors of the Dockerfile parser and of word expansion.

use super::ast::Location;

/// A Dockerfile that cannot be parsed: where and why, shown as `file:line:column: message`
/// so editors and terminals can jump to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{}:{}: {message}", location.line, location.column)]
pub struct ParseError {
    /// The Dockerfile's name as the user gave it (`Dockerfile`, `build/Containerfile`).
    pub file: String,
    pub location: Location,
    /// What is wrong, in Docker's words where Docker has some.
    pub message: String,
}

/// A word whose quotes or `$` substitutions cannot be processed. The caller knows which
/// instruction the word came from and adds that.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    #[error("unexpected end of statement while looking for matching single-quote")]
    UnterminatedSingleQuote,
    #[error("unexpected end of statement while looking for matching double-quote")]
    UnterminatedDoubleQuote,
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(String),
    /// `${NAME?message}` or `${NAME:?message}` with `NAME` unset (or empty).
    #[error("{name}: {message}")]
    Required { name: String, message: String },
}
