//! The client's command language: one command a line, words split at spaces, "double quotes" for
//! keys or values with spaces (\" and \\ inside), 'single quotes' taken literally; and the reply
//! printed for each outcome, in the same quoting so a value can be pasted back.

use crate::kvsrv::{Op, Outcome};

/// A line of input, parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Op(Op),
    /// Toggle printing each command's latency.
    Time,
    Help,
    Quit,
}

pub const HELP: &str = "\
commands (names in any case; quote keys or values with spaces: PUT \"my key\" \"a value\"):
  GET key                  the value and its version, or null
  PUT key value            set the value (words after the key are joined by one space);
                           says whether the key was new or held a value
  APPEND key value         append to the value (an absent key counts as \"\")
  DELETE key               remove the key; says whether it was found
  CPUT key value VERSION   set the value only if the key is at VERSION (0: absent)
  SWAP key value           set the value; answers the previous value and version, or null
  SCAN from to [LIMIT]     the keys from `from` to `to` (both included) in key order, with their
                           values and versions; at most LIMIT (default 100) keys
  TXN [IF cond [AND cond]...] THEN op [; op]... [ELSE op [; op]...]
                           one atomic step: if every cond holds, the THEN ops run, else the ELSE
                           ops; cond is VERSION key OP N or VALUE key OP value, OP one of
                           = != < > (an absent key is at version 0 and has no value, so only !=
                           holds against it); op is any command above but TXN. Quote a value that
                           is a keyword or holds ';'. Example:
                           TXN IF VERSION acct = 3 THEN PUT acct 90 ; APPEND log -10 ELSE GET acct
  time                     toggle printing each command's latency
  help                     this text
  quit                     leave (or Ctrl-D)
At a terminal, commands are kept across sessions in $XDG_DATA_HOME/raftkv/history (else
~/.local/share/raftkv/history; --history-file FILE, --no-history).";

/// Keys a SCAN shows when no LIMIT is given.
pub const DEFAULT_SCAN_LIMIT: u64 = 100;

/// A word of input, and whether any of it was quoted (a quoted word is never a keyword).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub quoted: bool,
}

impl Token {
    /// Whether this is the unquoted keyword `word` (any case).
    pub fn is_keyword(&self, word: &str) -> bool {
        !self.quoted && self.text.eq_ignore_ascii_case(word)
    }
}

/// Splits a line into words. Errors name the column of an unterminated quote.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    Ok(tokens(line, false)?.into_iter().map(|t| t.text).collect())
}

/// Splits a line into tokens; with `semicolons`, an unquoted ';' ends a word and is a token of
/// its own (TXN's separator).
pub fn tokens(line: &str, semicolons: bool) -> Result<Vec<Token>, String> {
    let mut words = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(_, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if semicolons && c == ';' {
            chars.next();
            words.push(Token { text: ";".into(), quoted: false });
            continue;
        }
        let mut word = String::new();
        let mut quoted = false;
        while let Some(&(at, c)) = chars.peek() {
            if c.is_whitespace() || (semicolons && c == ';') {
                break;
            }
            chars.next();
            match c {
                '"' => loop {
                    quoted = true;
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, e)) => word.push(e),
                            None => return Err(format!("unterminated quote starting at column {}", at + 1)),
                        },
                        Some((_, ch)) => word.push(ch),
                        None => return Err(format!("unterminated quote starting at column {}", at + 1)),
                    }
                },
                '\'' => loop {
                    quoted = true;
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, ch)) => word.push(ch),
                        None => return Err(format!("unterminated quote starting at column {}", at + 1)),
                    }
                },
                _ => word.push(c),
            }
        }
        words.push(Token { text: word, quoted });
    }
    Ok(words)
}

/// Parses one line: None for a blank line or a `#` comment.
pub fn parse(line: &str) -> Result<Option<Command>, String> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let words = split_words(trimmed)?;
    let (name, args) = words.split_first().expect("a non-blank line has a word");
    let command = match name.to_ascii_lowercase().as_str() {
        "txn" => Command::Op(Op::Txn(super::txn_syntax::parse_txn(&tokens(trimmed, true)?[1..])?)),
        "time" | "help" | "quit" | "exit" if !args.is_empty() => {
            return Err(format!("{name} takes no arguments"));
        }
        "time" => Command::Time,
        "help" | "?" => Command::Help,
        "quit" | "exit" => Command::Quit,
        _ => Command::Op(parse_op(name, args)?),
    };
    Ok(Some(command))
}

/// Parses a single-step operation: command name `name` and its arguments.
pub fn parse_op(name: &str, args: &[String]) -> Result<Op, String> {
    let upper = name.to_uppercase();
    let usage = |form: &str| format!("{upper} takes {form}; got {} argument(s)", args.len());
    let key = || args[0].clone();
    let op = match name.to_ascii_lowercase().as_str() {
        "get" if args.len() == 1 => Op::Get { key: key() },
        "get" => return Err(usage("a key (GET key)")),
        "delete" | "del" if args.len() == 1 => Op::Delete { key: key() },
        "delete" | "del" => return Err(usage("a key (DELETE key)")),
        "put" | "append" | "swap" if args.len() >= 2 => {
            let (key, value) = (key(), args[1..].join(" "));
            match upper.as_str() {
                "PUT" => Op::Put { key, value },
                "APPEND" => Op::Append { key, value },
                _ => Op::Swap { key, value },
            }
        }
        "put" | "append" | "swap" => return Err(usage(&format!("a key and a value ({upper} key value)"))),
        "cput" if args.len() >= 3 => {
            let last = &args[args.len() - 1];
            let version = last
                .parse::<u64>()
                .map_err(|_| format!("CPUT: VERSION must be a whole number, got {last:?} (CPUT key value VERSION)"))?;
            Op::CPut { key: key(), value: args[1..args.len() - 1].join(" "), version }
        }
        "cput" => return Err(usage("a key, a value and a version (CPUT key value VERSION)")),
        "scan" if args.len() == 2 || args.len() == 3 => {
            let limit = match args.get(2) {
                None => DEFAULT_SCAN_LIMIT,
                Some(text) => text.parse::<u64>().ok().filter(|&n| n >= 1).ok_or_else(|| {
                    format!("SCAN: LIMIT must be a whole number of at least 1, got {text:?} (SCAN from to [LIMIT])")
                })?,
            };
            Op::Scan { from: key(), to: args[1].clone(), limit }
        }
        "scan" => return Err(usage("a first and a last key and an optional limit (SCAN from to [LIMIT])")),
        "txn" => return Err("TXN cannot be nested in a transaction".to_string()),
        _ => {
            return Err(format!(
                "unknown command {name:?} (GET, PUT, APPEND, DELETE, CPUT, SWAP, SCAN, TXN, time, help, quit)"
            ));
        }
    };
    Ok(op)
}

/// A word as the parser would read it back: bare when that is unambiguous, else double-quoted.
pub fn quote(word: &str) -> String {
    let bare = !word.is_empty() && !word.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\');
    if bare && word != "null" {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// What the client sends for the command `op`: a PUT goes as a swap and a DELETE as a
/// transaction that reads the key and deletes it, both one atomic step with the same effect,
/// so the reply can say whether the key existed (the services' put and delete answer only
/// "done").
pub fn to_wire(op: &Op) -> Op {
    match op {
        Op::Put { key, value } => Op::Swap { key: key.clone(), value: value.clone() },
        Op::Delete { key } => Op::Txn(crate::kvsrv::Txn {
            compares: Vec::new(),
            success: vec![Op::Get { key: key.clone() }, op.clone()],
            failure: Vec::new(),
        }),
        other => other.clone(),
    }
}

/// The reply for `outcome` of `op` (the outcome of [`to_wire`]`(op)` when it came from the
/// client's commands): one line, or one per key of a scan or operation of a transaction.
pub fn reply(op: &Op, outcome: &Outcome) -> String {
    match (op, outcome) {
        (Op::Put { .. }, Outcome::Value { value: None, .. }) => "OK (new key)".to_string(),
        (Op::Put { .. }, Outcome::Value { value: Some(_), .. }) => "OK (replaced a value)".to_string(),
        (Op::Delete { .. }, Outcome::Txn { results, .. }) => match results.first() {
            Some(Outcome::Value { value: Some(_), .. }) => "OK (deleted)".to_string(),
            _ => "not found (nothing deleted)".to_string(),
        },
        (_, Outcome::Value { value: Some(v), version }) => format!("{} (version {version})", quote(v)),
        (_, Outcome::Value { value: None, .. }) => "null".to_string(),
        (_, Outcome::Done) => "OK".to_string(),
        (Op::CPut { key, version, .. }, Outcome::ErrVersion) => {
            format!("ERR_VERSION: {} is not at version {version}; nothing changed", quote(key))
        }
        (_, Outcome::ErrVersion) => "ERR_VERSION".to_string(),
        (_, Outcome::ErrMaybe) => "MAYBE: a retry cannot tell whether it took effect; GET to find out".to_string(),
        (_, Outcome::Range { entries, more }) => {
            let mut lines: Vec<String> = entries
                .iter()
                .map(|e| format!("{} {} (version {})", quote(&e.key), quote(&e.value), e.version))
                .collect();
            let count = match entries.len() {
                0 => "(no keys)".to_string(),
                1 => "(1 key)".to_string(),
                n => format!("({n} keys)"),
            };
            lines.push(match (more, entries.last()) {
                (true, Some(last)) => {
                    format!("{count} more keys follow {}: raise LIMIT or scan on from there", quote(&last.key))
                }
                _ => count,
            });
            lines.join("\n")
        }
        (Op::Txn(txn), Outcome::Txn { succeeded, results }) => {
            let (branch, ops) = if *succeeded { ("THEN", &txn.success) } else { ("ELSE", &txn.failure) };
            let mut lines = vec![match (succeeded, ops.is_empty()) {
                (true, _) => format!("SUCCEEDED: the conditions held; {} {branch} operation(s) ran", ops.len()),
                (false, true) => "FAILED: a condition did not hold; no ELSE operations, nothing changed".to_string(),
                (false, false) => format!("FAILED: a condition did not hold; {} ELSE operation(s) ran", ops.len()),
            }];
            for (i, (op, outcome)) in ops.iter().zip(results).enumerate() {
                let text = reply(op, outcome).replace('\n', "\n     ");
                lines.push(format!("  {}. {}: {text}", i + 1, describe(op)));
            }
            lines.join("\n")
        }
        (_, Outcome::Txn { succeeded, .. }) => format!("transaction answer (succeeded: {succeeded})"),
    }
}

/// An operation as the client would type it (TXN's ops only by name: it has its own lines).
pub fn describe(op: &Op) -> String {
    match op {
        Op::Get { key } => format!("GET {}", quote(key)),
        Op::Put { key, value } => format!("PUT {} {}", quote(key), quote(value)),
        Op::Append { key, value } => format!("APPEND {} {}", quote(key), quote(value)),
        Op::Delete { key } => format!("DELETE {}", quote(key)),
        Op::CPut { key, value, version } => format!("CPUT {} {} {version}", quote(key), quote(value)),
        Op::Swap { key, value } => format!("SWAP {} {}", quote(key), quote(value)),
        Op::Scan { from, to, limit } => format!("SCAN {} {} {limit}", quote(from), quote(to)),
        Op::Txn(_) => "TXN".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(line: &str) -> Op {
        match parse(line) {
            Ok(Some(Command::Op(op))) => op,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn operations_parse_with_quotes_and_joined_values() {
        assert_eq!(op("get k"), Op::Get { key: "k".into() });
        assert_eq!(op("PUT \"my key\" some value"), Op::Put { key: "my key".into(), value: "some value".into() });
        assert_eq!(op("put k '  spaced  '"), Op::Put { key: "k".into(), value: "  spaced  ".into() });
        assert_eq!(op(r#"APPEND k "say \"hi\"""#), Op::Append { key: "k".into(), value: "say \"hi\"".into() });
        assert_eq!(op("DELETE k"), Op::Delete { key: "k".into() });
        assert_eq!(op("cput k new value 3"), Op::CPut { key: "k".into(), value: "new value".into(), version: 3 });
        assert_eq!(op("put k \"\""), Op::Put { key: "k".into(), value: String::new() });
        assert_eq!(parse("  # a comment"), Ok(None));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("TIME"), Ok(Some(Command::Time)));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let err = |line: &str| parse(line).unwrap_err();
        assert_eq!(err("GET"), "GET takes a key (GET key); got 0 argument(s)");
        assert_eq!(err("put k"), "PUT takes a key and a value (PUT key value); got 1 argument(s)");
        assert!(err("CPUT k v x").contains("VERSION must be a whole number, got \"x\""));
        assert!(err("FROB k").starts_with("unknown command \"FROB\""));
        assert_eq!(err("SWAP k"), "SWAP takes a key and a value (SWAP key value); got 1 argument(s)");
        assert_eq!(
            err("SCAN a"),
            "SCAN takes a first and a last key and an optional limit (SCAN from to [LIMIT]); got 1 argument(s)"
        );
        assert!(err("SCAN a b 0").contains("LIMIT must be a whole number of at least 1, got \"0\""));
        assert!(err("SCAN a b x").contains("got \"x\""));
        assert_eq!(err("PUT \"k v"), "unterminated quote starting at column 5");
        assert_eq!(err("time now"), "time takes no arguments");
    }

    #[test]
    fn put_and_delete_go_as_atomic_steps_that_tell_whether_the_key_existed() {
        let put = op("PUT k v");
        assert_eq!(to_wire(&put), Op::Swap { key: "k".into(), value: "v".into() });
        assert_eq!(reply(&put, &Outcome::Value { value: None, version: 0 }), "OK (new key)");
        assert_eq!(reply(&put, &Outcome::Value { value: Some("old".into()), version: 3 }), "OK (replaced a value)");
        let delete = op("DELETE k");
        let Op::Txn(txn) = to_wire(&delete) else { panic!("DELETE goes as a transaction") };
        assert!(txn.compares.is_empty() && txn.failure.is_empty());
        assert_eq!(txn.success, vec![Op::Get { key: "k".into() }, delete.clone()]);
        let answered = |value: Option<&str>| Outcome::Txn {
            succeeded: true,
            results: vec![Outcome::Value { value: value.map(str::to_string), version: 1 }, Outcome::Done],
        };
        assert_eq!(reply(&delete, &answered(Some("x"))), "OK (deleted)");
        assert_eq!(reply(&delete, &answered(None)), "not found (nothing deleted)");
        // Everything else goes as typed; inside a transaction PUT and DELETE stay themselves.
        assert_eq!(to_wire(&op("GET k")), op("GET k"));
        assert_eq!(reply(&put, &Outcome::Done), "OK");
    }

    #[test]
    fn replies_quote_what_needs_it_and_read_back() {
        let get = Op::Get { key: "k".into() };
        assert_eq!(reply(&get, &Outcome::Value { value: Some("v".into()), version: 2 }), "v (version 2)");
        assert_eq!(reply(&get, &Outcome::Value { value: Some("a b".into()), version: 1 }), "\"a b\" (version 1)");
        assert_eq!(reply(&get, &Outcome::Value { value: None, version: 0 }), "null");
        assert_eq!(reply(&get, &Outcome::Value { value: Some("null".into()), version: 1 }), "\"null\" (version 1)");
        let cput = Op::CPut { key: "k".into(), value: "v".into(), version: 4 };
        assert_eq!(reply(&cput, &Outcome::ErrVersion), "ERR_VERSION: k is not at version 4; nothing changed");
        let swap = Op::Swap { key: "k".into(), value: "v".into() };
        assert_eq!(reply(&swap, &Outcome::Value { value: None, version: 0 }), "null");
        let scan = op("SCAN a c 2");
        assert_eq!(scan, Op::Scan { from: "a".into(), to: "c".into(), limit: 2 });
        let kv = |key: &str, value: &str| crate::kvsrv::KeyValue { key: key.into(), value: value.into(), version: 1 };
        let range = Outcome::Range { entries: vec![kv("a", "x"), kv("b b", "y")], more: true };
        assert_eq!(
            reply(&scan, &range),
            "a x (version 1)\n\"b b\" y (version 1)\n(2 keys) more keys follow \"b b\": raise LIMIT or scan on from there"
        );
        assert_eq!(reply(&scan, &Outcome::Range { entries: vec![], more: false }), "(no keys)");
        let Op::Txn(txn) = op("TXN IF VERSION a = 0 THEN PUT a 1 ; SCAN a b ELSE GET a") else { unreachable!() };
        let outcome = Outcome::Txn { succeeded: true, results: vec![Outcome::Done, range.clone()] };
        assert_eq!(
            reply(&Op::Txn(txn.clone()), &outcome),
            "SUCCEEDED: the conditions held; 2 THEN operation(s) ran\n  1. PUT a 1: OK\n  2. SCAN a b 100: a x (version 1)\n     \
             \"b b\" y (version 1)\n     (2 keys) more keys follow \"b b\": raise LIMIT or scan on from there"
        );
        let failed = Outcome::Txn { succeeded: false, results: vec![Outcome::Value { value: None, version: 0 }] };
        assert_eq!(
            reply(&Op::Txn(txn), &failed),
            "FAILED: a condition did not hold; 1 ELSE operation(s) ran\n  1. GET a: null"
        );
        for word in ["plain", "two words", "q\"uote", "back\\slash", "", "null"] {
            assert_eq!(split_words(&quote(word)).unwrap(), vec![word.to_string()], "{word:?}");
        }
    }
}
