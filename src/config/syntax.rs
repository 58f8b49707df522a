//! Counting TOML syntax errors before building anything: one linear pass of the same tokenizer,
//! parser and decoders the `toml` crate uses, keeping the first few errors and counting the rest.
//!
//! `toml`'s recoverable parser reports every invalid byte as its own error, each with its own
//! message string: a megabyte of NUL bytes in a comment is a million errors. When a document has
//! more syntax errors than a file may report, the positioned tree is not built at all (nothing in
//! such a file is worth validating) and the caller reports the first errors and how many more
//! there were; otherwise `toml` parses it as usual, its error list bounded by this count.

use toml_parser::decoder::Encoding;
use toml_parser::parser::{EventReceiver, RecursionGuard, ValidateWhitespace, parse_document};
use toml_parser::{ErrorSink, Expected, ParseError, Raw, Source, Span};

/// The nesting depth `toml` allows (its own parser stops at the same depth).
const MAX_DEPTH: u32 = 80;

/// A syntax error: where (byte offset) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) offset: Option<usize>,
    pub(crate) message: String,
}

/// The first `keep` syntax errors of `text` and the total count.
pub(crate) fn scan(text: &str, keep: usize) -> (Vec<Found>, usize) {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut sink = Capped {
        keep,
        kept: Vec::new(),
        total: 0,
    };
    let mut decode = Decode { text };
    let mut whitespace = ValidateWhitespace::new(&mut decode, source);
    let mut guarded = RecursionGuard::new(&mut whitespace, MAX_DEPTH);
    parse_document(&tokens, &mut guarded, &mut sink);
    (sink.kept, sink.total)
}

/// Decodes every key and scalar (where invalid escapes and characters are found), discarding
/// the values.
struct Decode<'s> {
    text: &'s str,
}

impl<'s> Decode<'s> {
    /// The token's text with its encoding (quoted or not), as the decoders need it.
    fn raw(&self, span: Span, encoding: Option<Encoding>) -> Option<Raw<'s>> {
        let s = self.text.get(span.start()..span.end())?;
        Some(Raw::new_unchecked(s, encoding, span))
    }
}

impl EventReceiver for Decode<'_> {
    fn simple_key(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        if let Some(raw) = self.raw(span, encoding) {
            raw.decode_key(&mut (), error);
        }
    }

    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        if let Some(raw) = self.raw(span, encoding) {
            let _ = raw.decode_scalar(&mut (), error);
        }
    }
}

/// Keeps the first `keep` errors, counts all of them.
struct Capped {
    keep: usize,
    kept: Vec<Found>,
    total: usize,
}

impl ErrorSink for Capped {
    fn report_error(&mut self, error: ParseError) {
        self.total += 1;
        if self.kept.len() < self.keep {
            self.kept.push(Found {
                offset: error.unexpected().map(|s| s.start()),
                message: message(&error),
            });
        }
    }
}

/// The message as `toml` words it: the description, then what was expected.
fn message(error: &ParseError) -> String {
    let mut out = error.description().to_owned();
    if let Some(expected) = error.expected() {
        out.push_str(", expected ");
        if expected.is_empty() {
            out.push_str("nothing");
        }
        for (i, e) in expected.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match e {
                Expected::Literal("\n") => out.push_str("newline"),
                Expected::Literal("`") => out.push_str("'`'"),
                Expected::Literal(s) if s.chars().all(|c| c.is_ascii_control()) => {
                    out.push_str(&format!("`{}`", s.escape_debug()));
                }
                Expected::Literal(s) => out.push_str(&format!("`{s}`")),
                Expected::Description(s) => out.push_str(s),
                _ => out.push_str("etc"),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_syntax_errors_toml_reports() {
        // (text, whether `toml` reports exactly these). Not always: it reports an invalid key
        // only once when every key is the same invalid one, does not decode what follows some
        // errors, and adds its own duplicate-key errors, which are not syntax.
        for (text, exact) in [
            ("a = 1\n", true),
            ("proxy = \"unterminated\nno_proxy = []\n", true),
            ("# \0\0\0\0\0\n", true),
            ("x = \"\\q\\q\\q\"\n", true),
            ("[a\nb = = 1\n[[c]\n", false),
            ("\0\n\0\n\0\n", false),
        ] {
            let (_, toml_errors) = toml::de::DeTable::parse_recoverable(text);
            let (kept, total) = scan(text, 100);
            assert_eq!(kept.len(), total, "{text:?}");
            let theirs: Vec<(Option<usize>, String)> = toml_errors
                .iter()
                .map(|t| (t.span().map(|s| s.start), t.message().trim().to_owned()))
                .collect();
            for k in kept.iter().filter(|_| exact) {
                assert!(
                    theirs.contains(&(k.offset, k.message.clone())),
                    "{text:?}: {k:?} not in {theirs:?}"
                );
            }
            if exact {
                assert_eq!(total, toml_errors.len(), "{text:?}");
            } else {
                assert!(total >= toml_errors.len(), "{text:?}");
            }
            let (kept, again) = scan(text, 1);
            assert_eq!((kept.len(), again), (total.min(1), total));
        }
    }

    #[test]
    fn a_megabyte_of_nul_bytes_is_counted_without_keeping_them() {
        let text = format!("# {}\n", "\0".repeat(1 << 20));
        let (kept, total) = scan(&text, 100);
        assert_eq!(kept.len(), 100);
        assert_eq!(total, 1 << 20);
    }
}
