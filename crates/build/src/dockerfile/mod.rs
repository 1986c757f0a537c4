//! The Dockerfile language: [`ast`] (what a Dockerfile says), [`parse`] (text → AST, with
//! file:line:column errors) and [`expand`] (quote removal and `$VAR` expansion, done by the
//! executor at each step).

pub mod ast;
pub mod error;
pub mod expand;
pub mod parse;

pub use error::{ExpandError, ParseError};
pub use expand::{expand_heredoc, expand_word, expand_words};
pub use parse::parse;
