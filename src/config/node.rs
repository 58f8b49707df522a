//! The configuration as written, before validation: a small value tree whose nodes remember
//! their position. TOML files fill it with `file:line:col` spans; any other serde format fills it
//! through [`serde::Deserialize`] with positions unknown. Validation (`schema`) walks this tree,
//! so unknown keys are collected, never the reason the first parse step fails.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

pub(crate) use super::position::{LineIndex, Pos};
use super::syntax;

/// One value with its position (when known).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) pos: Option<Pos>,
}

/// One key of a table: its name, the key's position, and the value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_pos: Option<Pos>,
    pub(crate) node: Node,
}

/// The shapes a configuration value can take in any serde format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A TOML datetime or any other scalar we only need to name in an error.
    Other(String),
    Null,
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

impl Value {
    /// The type's name as a user would say it, for "expected a string, found an integer".
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::Str(_) => "a string",
            Self::Int(_) => "an integer",
            Self::Float(_) => "a float",
            Self::Bool(_) => "a boolean",
            Self::Other(_) => "a datetime",
            Self::Null => "null",
            Self::Array(_) => "an array",
            Self::Table(_) => "a table",
        }
    }
}

impl Node {
    fn unpositioned(value: Value) -> Self {
        Self { value, pos: None }
    }
}

/// A TOML syntax error with its position.
#[derive(Debug, Clone)]
pub(crate) struct SyntaxError {
    pub(crate) message: String,
    pub(crate) pos: Option<Pos>,
}

/// A parsed TOML document: the positioned tree, the syntax errors kept, and how many more
/// there were.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) root: Node,
    pub(crate) errors: Vec<SyntaxError>,
    /// Syntax errors found but not kept (over `keep`).
    pub(crate) omitted: usize,
}

/// Parses TOML into a positioned tree, with best-effort recovery: syntax errors are returned
/// together with whatever could be read. A document with more than `keep` syntax errors is not
/// read at all: the first `keep` errors are returned, the rest counted, and the tree is empty.
pub(crate) fn parse_toml(text: &str, keep: usize) -> Parsed {
    let index = LineIndex::new(text);
    let (first, total) = syntax::scan(text, keep);
    if total > keep {
        let errors = first
            .into_iter()
            .map(|e| SyntaxError {
                message: e.message,
                pos: e.offset.map(|o| index.pos(o)),
            })
            .collect();
        return Parsed {
            root: Node {
                value: Value::Table(Vec::new()),
                pos: Some(index.pos(0)),
            },
            errors,
            omitted: total - keep,
        };
    }
    // Duplicate keys are `toml`'s own findings, not syntax, and can outnumber `keep` too.
    let (table, errors) = toml::de::DeTable::parse_recoverable(text);
    let omitted = errors.len().saturating_sub(keep);
    let errors = errors
        .into_iter()
        .take(keep)
        .map(|e| SyntaxError {
            message: e.message().trim().to_owned(),
            pos: e.span().map(|s| index.pos(s.start)),
        })
        .collect();
    let pos = Some(index.pos(table.span().start));
    let root = Node {
        value: from_detable(table.get_ref(), &index),
        pos,
    };
    Parsed {
        root,
        errors,
        omitted,
    }
}

fn from_detable(table: &toml::de::DeTable<'_>, index: &LineIndex<'_>) -> Value {
    let mut entries: Vec<Entry> = table
        .iter()
        .map(|(k, v)| Entry {
            key: k.get_ref().to_string(),
            key_pos: Some(index.pos(k.span().start)),
            node: from_devalue(v, index),
        })
        .collect();
    // The parser's map is ordered by key; diagnostics and `--show-origin` read better in file order.
    entries.sort_by_key(|e| e.key_pos);
    Value::Table(entries)
}

fn from_devalue(v: &serde_spanned::Spanned<toml::de::DeValue<'_>>, index: &LineIndex<'_>) -> Node {
    use toml::de::DeValue;
    let value = match v.get_ref() {
        DeValue::String(s) => Value::Str(s.to_string()),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            let digits = digits
                .strip_prefix("0x")
                .or_else(|| digits.strip_prefix("0o"))
                .or_else(|| digits.strip_prefix("0b"))
                .unwrap_or(&digits);
            match i64::from_str_radix(digits, i.radix()) {
                Ok(n) => Value::Int(n),
                Err(_) => Value::Other(i.as_str().to_owned()),
            }
        }
        DeValue::Float(f) => match f.as_str().replace('_', "").parse::<f64>() {
            Ok(x) => Value::Float(x),
            Err(_) => Value::Other(f.as_str().to_owned()),
        },
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::Other(d.to_string()),
        DeValue::Array(a) => Value::Array(a.iter().map(|x| from_devalue(x, index)).collect()),
        DeValue::Table(t) => from_detable(t, index),
    };
    Node {
        value,
        pos: Some(index.pos(v.span().start)),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a proxyscope configuration value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::unpositioned(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::unpositioned(Value::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::unpositioned(match i64::try_from(v) {
            Ok(n) => Value::Int(n),
            Err(_) => Value::Other(v.to_string()),
        }))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::unpositioned(Value::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::unpositioned(Value::Str(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::unpositioned(Value::Str(v)))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::unpositioned(Value::Other(format!(
            "{} bytes",
            v.len()
        ))))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::unpositioned(Value::Null))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::unpositioned(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::unpositioned(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let key = match key.value {
                Value::Str(s) | Value::Other(s) => s,
                Value::Int(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Float(x) => x.to_string(),
                other => {
                    return Err(de::Error::custom(format!(
                        "a configuration key must be a string, found {}",
                        other.type_name()
                    )));
                }
            };
            let node = map.next_value::<Node>()?;
            entries.push(Entry {
                key,
                key_pos: None,
                node,
            });
        }
        Ok(Node::unpositioned(Value::Table(entries)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: &Node) -> &[Entry] {
        match &n.value {
            Value::Table(t) => t,
            other => panic!("not a table: {other:?}"),
        }
    }

    #[test]
    fn toml_keys_and_values_carry_line_and_column() {
        let text = "proxy = \"http://p.test:3128\"\n\n[providers.a]\n  url = \"http://a.test\"\n";
        let parsed = parse_toml(text, 100);
        assert!(parsed.errors.is_empty());
        let t = table(&parsed.root);
        assert_eq!(t[0].key, "proxy");
        assert_eq!(t[0].key_pos, Some(Pos { line: 1, col: 1 }));
        assert_eq!(t[0].node.pos, Some(Pos { line: 1, col: 9 }));
        let providers = table(&t[1].node);
        let a = table(&providers[0].node);
        assert_eq!(a[0].key, "url");
        assert_eq!(a[0].key_pos, Some(Pos { line: 4, col: 3 }));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let parsed = parse_toml("proxy = \"unterminated\nno_proxy = []\n", 100);
        assert!(!parsed.errors.is_empty());
        assert_eq!(parsed.errors[0].pos.map(|p| p.line), Some(1));
        assert_eq!(parsed.omitted, 0);
    }

    #[test]
    fn a_document_of_errors_keeps_the_first_and_counts_the_rest() {
        let text = format!("proxy = \"direct\"\n# {}\n", "\0".repeat(5000));
        let parsed = parse_toml(&text, 10);
        assert_eq!(parsed.errors.len(), 10);
        assert_eq!(parsed.omitted, 4990);
        assert_eq!(parsed.errors[0].pos, Some(Pos { line: 2, col: 3 }));
        assert_eq!(parsed.errors[9].pos, Some(Pos { line: 2, col: 12 }));
        // Nothing in such a file is read.
        assert_eq!(parsed.root.value, Value::Table(Vec::new()));
    }

    #[test]
    fn other_formats_fill_the_tree_without_positions() {
        let n: Node =
            serde_json::from_str(r#"{"proxy": "direct", "no_proxy": ["a", 1], "x": null}"#)
                .unwrap();
        let t = table(&n);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].key_pos, None);
        assert_eq!(t[0].node.value, Value::Str("direct".into()));
        assert!(matches!(&t[1].node.value, Value::Array(a) if a[1].value == Value::Int(1)));
        assert_eq!(t[2].node.value, Value::Null);
    }
}
