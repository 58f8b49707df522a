//! [`ParseError`]: a string that is none of the spellings a small keyword type accepts (a root
//! store, a proxy scheme, a status expectation), the error of their
//! [`FromStr`](std::str::FromStr). It sits at the bottom of the crate so every layer's
//! keyword types share it.

use std::fmt;

/// The longest input a [`ParseError`] keeps: keywords are short, and a long value is not one.
const MAX_INPUT: usize = 64;

/// A string that is not one of the accepted spellings of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    input: String,
    expected: &'static str,
}

impl ParseError {
    /// `input` (kept up to 64 characters) is not `expected` (`"webpki, system or none"`).
    pub(crate) fn new(input: &str, expected: &'static str) -> Self {
        Self {
            input: input.chars().take(MAX_INPUT).collect(),
            expected,
        }
    }

    /// The rejected input (its first 64 characters).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What would have been accepted, in words.
    pub fn expected(&self) -> &'static str {
        self.expected
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not {}", self.input, self.expected)
    }
}

impl std::error::Error for ParseError {}
