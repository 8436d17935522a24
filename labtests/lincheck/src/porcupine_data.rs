//! Histories in the two formats of porcupine's test data, read as porcupine's own tests read
//! them, so the same files can be checked by both checkers.
//!
//! Both are logs of events, one a line: a call (`:invoke`) and later its return by the same
//! process. Time is the line number (every event its own instant, so the log's order is the
//! real-time order), and a call whose return never appears never returned.
//!
//! - **Jepsen etcd** (`test_data/jepsen/etcd_NNN.log`), a register:
//!   `INFO  jepsen.util - 3 :invoke :cas [4 2]` (tab-separated), then `:ok` or `:fail` with the
//!   same op.
//!   `:read nil` reads the unwritten register. `:fail :read :timed-out` returned without a
//!   known output; `:info ... :timed-out` (a write or cas) may or may not have taken effect:
//!   it never returns (jepsen gives the process a new number afterwards).
//! - **kv** (`test_data/kv/cNN-{ok,bad}.txt`), EDN maps:
//!   `{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}`, then `:type :ok`;
//!   get, put, append. An absent key reads as `""` there, so a get that returned `""` reads an
//!   absent key; a put or append of `""` (which would make `""` present) is refused, since the
//!   two cannot then be told apart.

use std::collections::BTreeMap;

use crate::history::{History, OpId, Stamp};
use crate::jsonl::{ParseError, Parsed};
use crate::models::kv::{KvInput, KvOutput};
use crate::models::register::{RegisterInput, RegisterOutput};

/// Parses a Jepsen etcd log (porcupine's `test_data/jepsen`) as a register history.
pub fn parse_jepsen_etcd(text: &str) -> Result<Parsed<RegisterInput, RegisterOutput>, ParseError> {
    parse_events(text, jepsen_event, register_output)
}

/// Parses a porcupine kv log (porcupine's `test_data/kv`) as a kv history.
pub fn parse_porcupine_kv(text: &str) -> Result<Parsed<KvInput, KvOutput>, ParseError> {
    parse_events(text, kv_event, kv_output)
}

/// One line of a log.
enum Event<I> {
    Call {
        process: u64,
        input: I,
    },
    /// `result`: what the return line says (`None`: returned, output unknown).
    Return {
        process: u64,
        f: String,
        result: Option<String>,
    },
    /// The outcome is unknown and the process will not return: the call stays pending.
    Abandon {
        process: u64,
    },
}

type EventParser<I> = fn(&str) -> Result<Event<I>, String>;
/// The output of `input` from the text of its return line.
type OutputParser<I, O> = fn(&I, &str) -> Result<O, String>;

fn parse_events<I, O>(
    text: &str,
    parse_event: EventParser<I>,
    parse_output: OutputParser<I, O>,
) -> Result<Parsed<I, O>, ParseError> {
    let mut history = History::new();
    let mut lines = Vec::new();
    // Each process's pending call: its operation and the line it is on.
    let mut pending: BTreeMap<u64, (OpId, usize)> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let at = |message: String| ParseError { line: line_number, message };
        let time = line_number as u64;
        match parse_event(line).map_err(at)? {
            Event::Call { process, input } => {
                if let Some((_, call_line)) = pending.get(&process) {
                    return Err(at(format!(
                        "process {process} calls again before its call on line {call_line} returned"
                    )));
                }
                pending.insert(process, (history.invoke_at(process, Stamp::at(time), input), line_number));
                lines.push(line_number);
            }
            Event::Return { process, f, result } => {
                let (id, _) =
                    pending.remove(&process).ok_or_else(|| at(format!("process {process} returns without a call")))?;
                let input = &history.ops()[id.0].input;
                let output = match result {
                    Some(result) => Some(parse_output(input, &format!("{f} {result}")).map_err(at)?),
                    None => None,
                };
                history.finish_at(id, Stamp::at(time), output).map_err(|error| at(error.to_string()))?;
            }
            Event::Abandon { process } => {
                pending.remove(&process).ok_or_else(|| at(format!("process {process} times out without a call")))?;
            }
        }
    }
    Ok(Parsed { history, lines })
}

/// `INFO  jepsen.util - PROCESS :TYPE :F VALUE`, split on white space (the log has tabs).
fn jepsen_event(line: &str) -> Result<Event<RegisterInput>, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [info, util, dash, process, kind, f, value @ ..] = words.as_slice() else {
        return Err(format!("expected `INFO jepsen.util - PROCESS :TYPE :F VALUE`, got {line:?}"));
    };
    if (*info, *util, *dash) != ("INFO", "jepsen.util", "-") {
        return Err(format!("expected a line starting `INFO jepsen.util -`, got {line:?}"));
    }
    let process: u64 = process.parse().map_err(|_| format!("process {process:?} is not a non-negative integer"))?;
    let value = value.join(" ");
    let f = match *f {
        ":read" | ":write" | ":cas" => &f[1..],
        other => return Err(format!("unknown op {other:?} (etcd ops: :read, :write, :cas)")),
    };
    match (*kind, f, value.as_str()) {
        (":invoke", "read", "nil") => Ok(Event::Call { process, input: RegisterInput::Read }),
        (":invoke", "write", value) => Ok(Event::Call { process, input: RegisterInput::Write(integer(value)?) }),
        (":invoke", "cas", pair) => {
            let (from, to) = cas_pair(pair)?;
            Ok(Event::Call { process, input: RegisterInput::Cas { from, to } })
        }
        (":fail", "read", ":timed-out") => Ok(Event::Return { process, f: f.into(), result: None }),
        (":ok", _, _) | (":fail", "cas", _) => {
            Ok(Event::Return { process, f: f.into(), result: Some(format!("{} {value}", &kind[1..])) })
        }
        (":info", _, _) => Ok(Event::Abandon { process }),
        (kind, f, value) => Err(format!("unexpected event {kind} :{f} {value}")),
    }
}

/// The output of a register operation from `F TYPE VALUE` of its return line.
fn register_output(input: &RegisterInput, text: &str) -> Result<RegisterOutput, String> {
    let (f, rest) = text.split_once(' ').expect("register returns are built as `F TYPE VALUE`");
    let (kind, value) = rest.split_once(' ').unwrap_or((rest, ""));
    match (input, f, kind) {
        (RegisterInput::Read, "read", "ok") => {
            Ok(RegisterOutput::Read(if value == "nil" { None } else { Some(integer(value)?) }))
        }
        (RegisterInput::Write(written), "write", "ok") => {
            let value = integer(value)?;
            if value != *written {
                return Err(format!("write of {written} returns {value}"));
            }
            Ok(RegisterOutput::Done)
        }
        (RegisterInput::Cas { from, to }, "cas", "ok" | "fail") => {
            if cas_pair(value)? != (*from, *to) {
                return Err(format!("cas [{from} {to}] returns as cas {value}"));
            }
            Ok(RegisterOutput::Cas(kind == "ok"))
        }
        (input, f, kind) => Err(format!("a {input:?} returns as :{kind} :{f}")),
    }
}

fn integer(text: &str) -> Result<i64, String> {
    text.parse().map_err(|_| format!("{text:?} is not an integer"))
}

/// `[FROM TO]`.
fn cas_pair(text: &str) -> Result<(i64, i64), String> {
    let inner = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
    let pair = inner.and_then(|inner| inner.split_once(' '));
    let Some((from, to)) = pair else {
        return Err(format!("expected a cas pair [FROM TO], got {text:?}"));
    };
    Ok((integer(from.trim())?, integer(to.trim())?))
}

/// `{:process P, :type :T, :f :F, :key "K", :value V}`.
fn kv_event(line: &str) -> Result<Event<KvInput>, String> {
    let fields = edn_map(line.trim())?;
    let field = |name: &str| fields.get(name).ok_or_else(|| format!("missing field :{name}"));
    let process = match field("process")? {
        Edn::Integer(process) => *process,
        other => return Err(format!(":process must be a non-negative integer, got {other:?}")),
    };
    let keyword = |name: &str| match field(name)? {
        Edn::Keyword(word) => Ok(word.clone()),
        other => Err(format!(":{name} must be a keyword, got {other:?}")),
    };
    let (kind, f) = (keyword("type")?, keyword("f")?);
    if !matches!(f.as_str(), "get" | "put" | "append") {
        return Err(format!("unknown op :{f} (kv ops: :get, :put, :append)"));
    }
    let key = match field("key")? {
        Edn::String(key) => key.clone(),
        other => return Err(format!(":key must be a string, got {other:?}")),
    };
    let value = field("value")?;
    match kind.as_str() {
        "invoke" => {
            let input = match (f.as_str(), value) {
                ("get", Edn::Nil) => KvInput::Get { key },
                ("put" | "append", Edn::String(value)) if value.is_empty() => {
                    return Err(format!(
                        "a {f} of \"\": this format reads an absent key as \"\", so an empty value cannot be told from none"
                    ))
                }
                ("put", Edn::String(value)) => KvInput::Put { key, value: value.clone() },
                ("append", Edn::String(value)) => KvInput::Append { key, value: value.clone() },
                (f, value) => return Err(format!("a :{f} call with :value {value:?}")),
            };
            Ok(Event::Call { process, input })
        }
        "ok" => match value {
            Edn::String(value) => Ok(Event::Return { process, f, result: Some(value.clone()) }),
            other => Err(format!("a :{f} return needs a string :value, got {other:?}")),
        },
        "info" => Ok(Event::Abandon { process }),
        other => Err(format!("unknown :type :{other} (expected :invoke, :ok or :info)")),
    }
}

/// The output of a kv operation from `F VALUE` of its return line.
fn kv_output(input: &KvInput, text: &str) -> Result<KvOutput, String> {
    let (f, value) = text.split_once(' ').expect("kv returns are built as `F VALUE`");
    match (input, f) {
        (KvInput::Get { .. }, "get") => {
            let value = (!value.is_empty()).then(|| value.to_string());
            Ok(KvOutput::Get { value, version: None })
        }
        (KvInput::Put { .. }, "put") | (KvInput::Append { .. }, "append") => Ok(KvOutput::Done),
        (input, f) => Err(format!("a {input:?} returns as :{f}")),
    }
}

/// A value of the small part of EDN these logs use.
#[derive(Debug, PartialEq)]
enum Edn {
    Nil,
    Integer(u64),
    Keyword(String),
    String(String),
}

/// `{:name value, ...}` with values nil, non-negative integers, keywords and strings.
fn edn_map(text: &str) -> Result<BTreeMap<String, Edn>, String> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| format!("expected an EDN map {{:name value, ...}}, got {text:?}"))?;
    let mut fields = BTreeMap::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let name_end = rest.find(char::is_whitespace).ok_or_else(|| format!("field {rest:?} has no value"))?;
        let name = rest[..name_end].strip_prefix(':').ok_or_else(|| format!("expected a :name, got {rest:?}"))?;
        let (value, after) = edn_value(rest[name_end..].trim_start())?;
        if fields.insert(name.to_string(), value).is_some() {
            return Err(format!("field :{name} appears twice"));
        }
        let after = after.trim_start();
        rest = match after.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if after.is_empty() => after,
            None => return Err(format!("expected `,` between fields, got {after:?}")),
        };
    }
    Ok(fields)
}

/// One value at the start of `text`, and what follows it.
fn edn_value(text: &str) -> Result<(Edn, &str), String> {
    if let Some(quoted) = text.strip_prefix('"') {
        // Most strings have no escapes: one copy of the slice (get outputs run to kilobytes).
        let stop = quoted.bytes().position(|byte| byte == b'"' || byte == b'\\');
        if let Some(end) = stop.filter(|&end| quoted.as_bytes()[end] == b'"') {
            return Ok((Edn::String(quoted[..end].to_string()), &quoted[end + 1..]));
        }
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => return Ok((Edn::String(value), &quoted[at + 1..])),
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, escaped @ ('"' | '\\'))) => value.push(escaped),
                    other => return Err(format!("unsupported escape \\{:?} in a string", other.map(|(_, c)| c))),
                },
                c => value.push(c),
            }
        }
        return Err(format!("unterminated string \"{quoted}"));
    }
    let end = text.find([',', ' ', '\t']).unwrap_or(text.len());
    let (word, after) = text.split_at(end);
    let value = match word {
        "nil" => Edn::Nil,
        _ if word.starts_with(':') && word.len() > 1 => Edn::Keyword(word[1..].to_string()),
        _ => Edn::Integer(
            word.parse().map_err(|_| format!("unsupported value {word:?} (nil, integer, :keyword or \"string\")"))?,
        ),
    };
    Ok((value, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jepsen_events_become_a_register_history() {
        let log = "INFO  jepsen.util - 0\t:invoke\t:write\t3\n\
                   INFO  jepsen.util - 1\t:invoke\t:cas\t[3 4]\n\
                   INFO  jepsen.util - 0\t:ok\t:write\t3\n\
                   INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
                   INFO  jepsen.util - 1\t:fail\t:cas\t[3 4]\n\
                   INFO  jepsen.util - 2\t:fail\t:read\t:timed-out\n\
                   INFO  jepsen.util - 3\t:invoke\t:write\t5\n\
                   INFO  jepsen.util - 3\t:info\t:write\t:timed-out\n\
                   INFO  jepsen.util - 4\t:invoke\t:read\tnil\n\
                   INFO  jepsen.util - 4\t:ok\t:read\tnil\n";
        let parsed = parse_jepsen_etcd(log).unwrap();
        let ops = parsed.history.ops();
        assert_eq!(parsed.lines, [1, 2, 4, 7, 9]);
        assert_eq!(
            (ops[0].input.clone(), ops[0].output(), ops[0].return_time()),
            (RegisterInput::Write(3), Some(&RegisterOutput::Done), Some(3))
        );
        assert_eq!(ops[1].output(), Some(&RegisterOutput::Cas(false)));
        assert!(ops[2].output_unknown(), "a timed-out read returned without an output");
        assert_eq!(ops[3].ret, None, "an :info write never returns");
        assert_eq!(ops[4].output(), Some(&RegisterOutput::Read(None)));
    }

    #[test]
    fn jepsen_errors_name_what_is_wrong() {
        let error = |log: &str| parse_jepsen_etcd(log).unwrap_err();
        assert_eq!(error("INFO jepsen.util - 0 :ok :read 1").message, "process 0 returns without a call");
        let twice = "INFO jepsen.util - 0 :invoke :read nil\n\nINFO jepsen.util - 0 :invoke :read nil";
        assert_eq!(
            error(twice),
            ParseError { line: 3, message: "process 0 calls again before its call on line 1 returned".into() }
        );
        let mismatch = "INFO jepsen.util - 0 :invoke :write 1\nINFO jepsen.util - 0 :ok :write 2";
        assert_eq!(error(mismatch).message, "write of 1 returns 2");
        assert_eq!(
            error("INFO jepsen.util - 0 :invoke :swap 1").message,
            "unknown op \":swap\" (etcd ops: :read, :write, :cas)"
        );
        assert!(error("hello").message.starts_with("expected `INFO jepsen.util"));
    }

    #[test]
    fn kv_events_become_a_kv_history() {
        let log = "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\n\
                   {:process 1, :type :invoke, :f :append, :key \"k\", :value \"x 1 y\"}\n\
                   {:process 0, :type :ok, :f :get, :key \"k\", :value \"\"}\n\
                   {:process 1, :type :ok, :f :append, :key \"k\", :value \"x 1 y\"}\n\
                   {:process 0, :type :invoke, :f :put, :key \"j\", :value \"a\\\"b\"}\n";
        let parsed = parse_porcupine_kv(log).unwrap();
        let ops = parsed.history.ops();
        assert_eq!(ops[0].output(), Some(&KvOutput::Get { value: None, version: None }), "\"\" reads an absent key");
        assert_eq!(ops[1].input, KvInput::Append { key: "k".into(), value: "x 1 y".into() });
        assert_eq!((ops[1].call_time, ops[1].return_time()), (2, Some(4)));
        assert_eq!(ops[2].input, KvInput::Put { key: "j".into(), value: "a\"b".into() });
        assert_eq!(ops[2].ret, None, "a call without a return never returned");
    }

    #[test]
    fn kv_errors_name_what_is_wrong() {
        let error = |log: &str| parse_porcupine_kv(log).unwrap_err().message;
        assert!(error("{:process 0, :type :invoke, :f :put, :key \"k\", :value \"\"}").starts_with("a put of \"\""));
        assert_eq!(
            error("{:process 0, :type :invoke, :f :cas, :key \"k\", :value nil}"),
            "unknown op :cas (kv ops: :get, :put, :append)"
        );
        assert_eq!(error("{:process 0, :type :invoke, :f :get, :value nil}"), "missing field :key");
        assert_eq!(error("{:process 0, :type :invoke :f :get}"), "expected `,` between fields, got \":f :get\"");
        assert_eq!(
            error("{:process 0, :type :invoke, :f :get, :key \"k, :value nil}"),
            "unterminated string \"k, :value nil"
        );
    }
}
