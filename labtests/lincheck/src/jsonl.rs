//! Histories from JSON Lines files, one operation a line, with `LINE: what is wrong` errors.
//!
//! ```text
//! {"client": 1, "call": 100, "return": 250, "op": "get", "key": "k", "output": "v1"}
//! {"client": 2, "call": 120, "return": null, "op": "put", "key": "k", "value": "v2"}
//! {"client": 3, "call": 130, "return": 260, "op": "cput", "key": "k", "value": "v3", "version": 1, "unknown_output": true}
//! ```
//!
//! - `client`: non-negative integer. `call`, `return`: non-negative integers in any one
//!   monotone unit, `return >= call`; `"return": null` for an operation that never returned
//!   (its output fields must then be absent or null). Without sequence numbers, events at equal
//!   times count as concurrent.
//! - `call_seq`, `return_seq` (optional): non-negative integers, each used once in the file,
//!   giving every call and return its place in one total order of events (e.g. a counter the
//!   recorder increments under its lock); they order events with equal times, so a put and a get
//!   that both took zero time at t are still ordered. On every line or on none; `return_seq` is
//!   absent or null when `return` is null.
//! - `unknown_output` (optional): `true` for an operation that returned without a known output
//!   (a conditional put answered "maybe"): it precedes whatever is called after its return, but
//!   the model accepts either outcome. Its `output` must then be absent.
//! - One operation at a time per client: a client's operation must return (at or before, in
//!   (time, seq)) the client's next call, and one that never returned must be its last.
//! - kv ops: `get` (`key`; `output`: string, or null when absent; optional `version`: the
//!   version the get returned), `put` and `append` (`key`, `value`), `delete` (`key`), `cput`
//!   (`key`, `value`, `version`; `output`: true/false).
//! - register ops: `read` (`output`: integer, or null when never written), `write` (`value`:
//!   integer), `cas` (`from`, `to`: integers; `output`: true/false).
//! - Blank lines are skipped; any other field is an error (it is most likely a typo).

use std::fmt;

use serde_json::{Map, Value};

use std::collections::BTreeMap;

use super::history::{History, Stamp};
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
    // The first line's choice (with or without seq), and each seq's line.
    let mut sequenced: Option<(bool, usize)> = None;
    let mut seq_lines: BTreeMap<u64, usize> = BTreeMap::new();
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
        let call_seq = fields.optional_integer("call_seq", false).map_err(at)?;
        let return_seq = match return_time {
            Some(_) => fields.optional_integer("return_seq", false).map_err(at)?,
            None => fields.no_output("return_seq").map(|()| None).map_err(at)?,
        };
        let unknown_output = fields.optional_bool("unknown_output").map_err(at)?.unwrap_or(false);
        if unknown_output && return_time.is_none() {
            return Err(at("\"unknown_output\" needs a return; an operation that never returned has no output".into()));
        }
        let has_seq = call_seq.is_some();
        if return_time.is_some() && return_seq.is_some() != has_seq {
            return Err(at("\"call_seq\" and \"return_seq\" go together: give both or neither".into()));
        }
        match sequenced {
            Some((first, first_line)) if first != has_seq => {
                let (with, without) = if first { (first_line, line_number) } else { (line_number, first_line) };
                return Err(at(format!(
                    "line {with} has \"call_seq\" and line {without} has not: sequence numbers go on every line or none"
                )));
            }
            Some(_) => {}
            None => sequenced = Some((has_seq, line_number)),
        }
        for seq in call_seq.into_iter().chain(return_seq) {
            if let Some(other) = seq_lines.insert(seq, line_number) {
                return Err(at(format!("sequence number {seq} is used twice (also on line {other})")));
            }
        }
        let op = fields.string("op").map_err(at)?;
        let returned_output = return_time.is_some() && !unknown_output;
        let (input, output) = parse_op(&op, &mut fields, returned_output).map_err(at)?;
        fields.reject_rest(&op).map_err(at)?;
        let call = Stamp { time: call_time, seq: call_seq };
        match return_time {
            Some(return_time) => {
                let ret = Stamp { time: return_time, seq: return_seq };
                history.push_returned(client_id, call, ret, input, output).map_err(|error| at(error.to_string()))?;
            }
            None => {
                history.invoke_at(client_id, call, input);
            }
        }
        lines.push(line_number);
    }
    if let Some((earlier, later)) = history.first_overlap() {
        let (earlier_line, later_line) = (lines[earlier.0], lines[later.0]);
        let client = history.ops()[later.0].client_id;
        let what = match history.ops()[earlier.0].ret {
            Some(_) => format!("before its operation on line {earlier_line} returned"),
            None => format!("after its operation on line {earlier_line}, which never returned"),
        };
        return Err(ParseError {
            line: later_line,
            message: format!("client {client} calls {what} (a client runs one operation at a time)"),
        });
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

    /// `true`, `false`, or absent/null (`None`).
    fn optional_bool(&mut self, name: &str) -> Result<Option<bool>, String> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(flag)),
            Some(value) => Err(format!("field \"{name}\" must be true or false, got {value}")),
        }
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
    fn sequence_numbers_and_unknown_outputs() {
        let text = r#"{"client": 1, "call": 5, "return": 5, "call_seq": 0, "return_seq": 1, "op": "put", "key": "k", "value": "a"}
{"client": 1, "call": 5, "return": 9, "call_seq": 2, "return_seq": 4, "op": "cput", "key": "k", "value": "b", "version": 1, "unknown_output": true}
{"client": 2, "call": 5, "return": null, "call_seq": 3, "op": "get", "key": "k"}"#;
        let parsed = parse_kv(text).unwrap();
        let ops = parsed.history.ops();
        assert!(parsed.history.is_sequenced());
        assert_eq!(ops[0].return_stamp(), Some(Stamp::sequenced(5, 1)));
        assert!(ops[0].precedes(&ops[1]), "same time, ordered by seq");
        assert!(ops[1].output_unknown() && ops[1].ret.is_some());
        assert_eq!(ops[2].call_stamp(), Stamp::sequenced(5, 3));
    }

    #[test]
    fn names_what_is_wrong_with_sequencing_and_clients() {
        let op = |client: u64, call: u64, ret: &str, extra: &str| {
            format!(r#"{{"client": {client}, "call": {call}, "return": {ret}, "op": "delete", "key": "k"{extra}}}"#)
        };
        let seqs = |call: u64, ret: u64| format!(r#", "call_seq": {call}, "return_seq": {ret}"#);
        assert_eq!(
            kv_error(&format!("{}\n{}", op(1, 0, "1", &seqs(0, 1)), op(2, 0, "1", ""))),
            "2: line 1 has \"call_seq\" and line 2 has not: sequence numbers go on every line or none"
        );
        assert_eq!(
            kv_error(&format!("{}\n{}", op(1, 0, "1", &seqs(0, 1)), op(2, 0, "1", &seqs(2, 1)))),
            "2: sequence number 1 is used twice (also on line 1)"
        );
        assert_eq!(
            kv_error(&op(1, 0, "1", r#", "call_seq": 0"#)),
            "1: \"call_seq\" and \"return_seq\" go together: give both or neither"
        );
        assert_eq!(kv_error(&op(1, 3, "3", &seqs(5, 4))), "1: return 3 (seq 4) is before call 3 (seq 5)");
        assert_eq!(
            kv_error(&op(1, 0, "null", r#", "unknown_output": true"#)),
            "1: \"unknown_output\" needs a return; an operation that never returned has no output"
        );
        assert_eq!(
            kv_error(&format!("{}\n\n{}", op(1, 0, "10", ""), op(1, 5, "20", ""))),
            "3: client 1 calls before its operation on line 1 returned (a client runs one operation at a time)"
        );
        assert_eq!(
            kv_error(&format!("{}\n{}", op(1, 0, "null", ""), op(1, 5, "20", ""))),
            "2: client 1 calls after its operation on line 1, which never returned (a client runs one operation at a time)"
        );
        // Back to back at one time is one operation after the other, not an overlap.
        assert!(parse_kv(&format!("{}\n{}", op(1, 0, "10", ""), op(1, 10, "20", ""))).is_ok());
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
