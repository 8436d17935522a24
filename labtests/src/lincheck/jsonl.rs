//! Histories from JSON Lines files, one operation a line, with `LINE: what is wrong` errors.
//!
//! ```text
//! {"client": 1, "call": 100, "return": 250, "op": "get", "key": "k", "output": "v1"}
//! {"client": 2, "call": 120, "return": null, "op": "put", "key": "k", "value": "v2"}
//! ```
//!
//! - `client`: non-negative integer. `call`, `return`: non-negative integers in any one
//!   monotone unit, `return >= call`; `"return": null` for an operation that never returned
//!   (its output fields must then be absent or null).
//! - kv ops: `get` (`key`; `output`: string, or null when absent; optional `version`: the
//!   version the get returned), `put` and `append` (`key`, `value`), `delete` (`key`), `cput`
//!   (`key`, `value`, `version`; `output`: true/false).
//! - register ops: `read` (`output`: integer, or null when never written), `write` (`value`:
//!   integer), `cas` (`from`, `to`: integers; `output`: true/false).
//! - Blank lines are skipped; any other field is an error (it is most likely a typo).

use std::fmt;

use serde_json::{Map, Value};

use super::history::History;
use super::models::kv::{KvInput, KvOutput};
use super::models::register::{RegisterInput, RegisterOutput};

/// What is wrong with which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// A parsed history and, for each operation, the line it came from (1-based).
#[derive(Clone, Debug)]
pub struct Parsed<I, O> {
    pub history: History<I, O>,
    pub lines: Vec<usize>,
}

/// Parses a kv history.
pub fn parse_kv(text: &str) -> Result<Parsed<KvInput, KvOutput>, ParseError> {
    parse(text, kv_op)
}

/// Parses a register history.
pub fn parse_register(text: &str) -> Result<Parsed<RegisterInput, RegisterOutput>, ParseError> {
    parse(text, register_op)
}

/// Input and, if the operation returned, output, from one line's op-specific fields.
type OpParser<I, O> = fn(&str, &mut Fields, bool) -> Result<(I, Option<O>), String>;

fn parse<I, O>(text: &str, parse_op: OpParser<I, O>) -> Result<Parsed<I, O>, ParseError> {
    let mut history = History::new();
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let at = |message: String| ParseError { line: line_number, message };
        let value: Value = serde_json::from_str(line).map_err(|error| at(bad_json(&error)))?;
        let Value::Object(map) = value else {
            return Err(at(format!("expected a JSON object, got {}", kind_of(&value))));
        };
        let mut fields = Fields { map };
        let client_id = fields.integer("client").map_err(at)?;
        let call_time = fields.integer("call").map_err(at)?;
        let return_time = fields.optional_integer("return", true).map_err(at)?;
        let op = fields.string("op").map_err(at)?;
        let (input, output) = parse_op(&op, &mut fields, return_time.is_some()).map_err(at)?;
        fields.reject_rest(&op).map_err(at)?;
        match (return_time, output) {
            (Some(return_time), Some(output)) => {
                history
                    .push(client_id, call_time, return_time, input, output)
                    .map_err(|error| at(error.to_string()))?;
            }
            (None, _) => {
                history.push_unknown(client_id, call_time, input);
            }
            (Some(_), None) => unreachable!("op parsers give an output for returned ops"),
        }
        lines.push(line_number);
    }
    Ok(Parsed { history, lines })
}

/// The fields of one line; taking a field removes it, so leftovers are unexpected fields.
struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    fn take(&mut self, name: &str) -> Result<Value, String> {
        self.map.remove(name).ok_or_else(|| format!("missing field \"{name}\""))
    }

    fn integer(&mut self, name: &str) -> Result<u64, String> {
        let value = self.take(name)?;
        value.as_u64().ok_or_else(|| format!("field \"{name}\" must be a non-negative integer, got {value}"))
    }

    /// A non-negative integer or null; with `required`, the field must be present.
    fn optional_integer(&mut self, name: &str, required: bool) -> Result<Option<u64>, String> {
        let value = match self.map.remove(name) {
            None if required => return Err(format!("missing field \"{name}\" (null if the operation never returned)")),
            None | Some(Value::Null) => return Ok(None),
            Some(value) => value,
        };
        value
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("field \"{name}\" must be a non-negative integer or null, got {value}"))
    }

    fn signed(&mut self, name: &str) -> Result<i64, String> {
        let value = self.take(name)?;
        value.as_i64().ok_or_else(|| format!("field \"{name}\" must be an integer, got {value}"))
    }

    fn string(&mut self, name: &str) -> Result<String, String> {
        match self.take(name)? {
            Value::String(text) => Ok(text),
            other => Err(format!("field \"{name}\" must be a string, got {other}")),
        }
    }

    /// The output field of an operation: required if it returned (`parse` turns the value),
    /// absent or null if it never did.
    fn output<T>(
        &mut self,
        returned: bool,
        parse: impl FnOnce(Value) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>, String> {
        if !returned {
            return self.no_output("output").map(|()| None);
        }
        let value = self.take("output")?;
        parse(value.clone()).map(Some).ok_or_else(|| format!("field \"output\" must be {expected}, got {value}"))
    }

    /// Operations without an output (and never-returned ones) may carry `output: null` only.
    fn no_output(&mut self, name: &str) -> Result<(), String> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(()),
            Some(value) => {
                Err(format!("field \"{name}\" must be absent or null here (the operation has no result), got {value}"))
            }
        }
    }

    fn reject_rest(&self, op: &str) -> Result<(), String> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(name) => Err(format!("unexpected field \"{name}\" for op \"{op}\"")),
        }
    }
}

/// serde_json's message without its "at line 1 column N" (always line 1 here: one JSON value
/// a line), with the column kept.
fn bad_json(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message.rfind(" at line ").map_or(message.as_str(), |at| &message[..at]);
    format!("bad JSON at column {}: {message}", error.column())
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn kv_op(op: &str, fields: &mut Fields, returned: bool) -> Result<(KvInput, Option<KvOutput>), String> {
    let done = |fields: &mut Fields| fields.no_output("output").map(|()| Some(KvOutput::Done));
    let unless_unknown = |output: Option<KvOutput>| if returned { output } else { None };
    match op {
        "get" => {
            let key = fields.string("key")?;
            let value = fields.output(
                returned,
                |value| match value {
                    Value::Null => Some(None),
                    Value::String(text) => Some(Some(text)),
                    _ => None,
                },
                "a string or null",
            )?;
            let version = if returned {
                fields.optional_integer("version", false)?
            } else {
                fields.no_output("version")?;
                None
            };
            let output = value.map(|value| KvOutput::Get { value, version });
            Ok((KvInput::Get { key }, output))
        }
        "put" | "append" => {
            let key = fields.string("key")?;
            let value = fields.string("value")?;
            let output = unless_unknown(done(fields)?);
            let input = if op == "put" { KvInput::Put { key, value } } else { KvInput::Append { key, value } };
            Ok((input, output))
        }
        "delete" => {
            let key = fields.string("key")?;
            Ok((KvInput::Delete { key }, unless_unknown(done(fields)?)))
        }
        "cput" => {
            let key = fields.string("key")?;
            let value = fields.string("value")?;
            let version = fields.integer("version")?;
            let output = fields.output(returned, |value| value.as_bool(), "true or false")?;
            let input = KvInput::CPut { key, value, version };
            Ok((input, output.map(KvOutput::CPut)))
        }
        other => Err(format!("unknown op \"{other}\" (kv ops: get, put, append, delete, cput)")),
    }
}

fn register_op(
    op: &str,
    fields: &mut Fields,
    returned: bool,
) -> Result<(RegisterInput, Option<RegisterOutput>), String> {
    match op {
        "read" => {
            let output = fields.output(
                returned,
                |value| match value {
                    Value::Null => Some(None),
                    other => other.as_i64().map(Some),
                },
                "an integer or null",
            )?;
            Ok((RegisterInput::Read, output.map(RegisterOutput::Read)))
        }
        "write" => {
            let value = fields.signed("value")?;
            fields.no_output("output")?;
            let output = returned.then_some(RegisterOutput::Done);
            Ok((RegisterInput::Write(value), output))
        }
        "cas" => {
            let from = fields.signed("from")?;
            let to = fields.signed("to")?;
            let output = fields.output(returned, |value| value.as_bool(), "true or false")?;
            Ok((RegisterInput::Cas { from, to }, output.map(RegisterOutput::Cas)))
        }
        other => Err(format!("unknown op \"{other}\" (register ops: read, write, cas)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv_error(text: &str) -> String {
        parse_kv(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_every_kv_op_and_unknown_returns() {
        let text = r#"
{"client": 1, "call": 1, "return": 2, "op": "put", "key": "k", "value": "a"}
{"client": 2, "call": 3, "return": 4, "op": "get", "key": "k", "output": "a", "version": 1}
{"client": 2, "call": 5, "return": 6, "op": "get", "key": "j", "output": null}

{"client": 3, "call": 5, "return": null, "op": "append", "key": "k", "value": "b"}
{"client": 4, "call": 7, "return": 9, "op": "cput", "key": "k", "value": "c", "version": 1, "output": true}
{"client": 4, "call": 10, "return": 11, "op": "delete", "key": "k", "output": null}
"#;
        let parsed = parse_kv(text).unwrap();
        assert_eq!(parsed.lines, vec![2, 3, 4, 6, 7, 8]);
        let ops = parsed.history.ops();
        assert_eq!(ops[1].output(), Some(&KvOutput::Get { value: Some("a".into()), version: Some(1) }));
        assert_eq!(ops[2].output(), Some(&KvOutput::Get { value: None, version: None }));
        assert!(ops[3].ret.is_none());
        assert_eq!(ops[4].output(), Some(&KvOutput::CPut(true)));
    }

    #[test]
    fn names_what_is_wrong_and_where() {
        let put = r#"{"client": 1, "call": 1, "return": 2, "op": "put", "key": "k", "value": "a"}"#;
        assert_eq!(kv_error(&format!("{put}\n{{")), "2: bad JSON at column 1: EOF while parsing an object");
        assert_eq!(kv_error("[1]"), "1: expected a JSON object, got an array");
        assert_eq!(
            kv_error(r#"{"client": 1, "call": 5, "return": 4, "op": "delete", "key": "k"}"#),
            "1: return 4 is before call 5"
        );
        assert_eq!(
            kv_error(r#"{"client": 1, "call": 5, "return": 6, "op": "gett", "key": "k"}"#),
            "1: unknown op \"gett\" (kv ops: get, put, append, delete, cput)"
        );
        assert_eq!(
            kv_error(r#"{"client": 1, "call": 5, "return": 6, "op": "get", "key": "k"}"#),
            "1: missing field \"output\""
        );
        assert_eq!(
            kv_error(r#"{"client": 1, "call": 5, "op": "get", "key": "k"}"#),
            "1: missing field \"return\" (null if the operation never returned)"
        );
        assert_eq!(
            kv_error(r#"{"client": -1, "call": 5, "return": 6, "op": "delete", "key": "k"}"#),
            "1: field \"client\" must be a non-negative integer, got -1"
        );
        assert_eq!(
            kv_error(r#"{"client": 1, "call": 5, "return": 6, "op": "delete", "key": "k", "vale": 1}"#),
            "1: unexpected field \"vale\" for op \"delete\""
        );
        assert_eq!(
            kv_error(r#"{"client": 1, "call": 5, "return": null, "op": "get", "key": "k", "output": "x"}"#),
            "1: field \"output\" must be absent or null here (the operation has no result), got \"x\""
        );
    }

    #[test]
    fn parses_register_ops() {
        let text = r#"{"client": 1, "call": 1, "return": 2, "op": "write", "value": -3}
{"client": 2, "call": 3, "return": 4, "op": "read", "output": -3}
{"client": 2, "call": 5, "return": 6, "op": "cas", "from": -3, "to": 4, "output": true}
{"client": 3, "call": 5, "return": null, "op": "read"}"#;
        let parsed = parse_register(text).unwrap();
        assert_eq!(parsed.history.len(), 4);
        assert_eq!(parsed.history.ops()[0].input, RegisterInput::Write(-3));
        let bad = r#"{"client": 1, "call": 1, "return": 2, "op": "cas", "from": 1, "to": 2, "output": 1}"#;
        assert_eq!(parse_register(bad).unwrap_err().to_string(), "1: field \"output\" must be true or false, got 1");
    }
}
