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
  PUT key value            set the value (words after the key are joined by one space)
  APPEND key value         append to the value (an absent key counts as \"\")
  DELETE key               remove the key
  CPUT key value VERSION   set the value only if the key is at VERSION (0: absent)
  time                     toggle printing each command's latency
  help                     this text
  quit                     leave (or Ctrl-D)";

/// Splits a line into words. Errors name the column of an unterminated quote.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(_, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        while let Some(&(at, c)) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '"' => loop {
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
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, ch)) => word.push(ch),
                        None => return Err(format!("unterminated quote starting at column {}", at + 1)),
                    }
                },
                _ => word.push(c),
            }
        }
        words.push(word);
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
    let usage = |form: &str| format!("{} takes {form}; got {} argument(s)", name.to_uppercase(), args.len());
    let key = || args[0].clone();
    let command = match name.to_ascii_lowercase().as_str() {
        "get" if args.len() == 1 => Command::Op(Op::Get { key: key() }),
        "get" => return Err(usage("a key (GET key)")),
        "delete" | "del" if args.len() == 1 => Command::Op(Op::Delete { key: key() }),
        "delete" | "del" => return Err(usage("a key (DELETE key)")),
        "put" | "append" if args.len() >= 2 => {
            let value = args[1..].join(" ");
            if name.eq_ignore_ascii_case("put") {
                Command::Op(Op::Put { key: key(), value })
            } else {
                Command::Op(Op::Append { key: key(), value })
            }
        }
        "put" | "append" => return Err(usage(&format!("a key and a value ({} key value)", name.to_uppercase()))),
        "cput" if args.len() >= 3 => {
            let last = &args[args.len() - 1];
            let version = last
                .parse::<u64>()
                .map_err(|_| format!("CPUT: VERSION must be a whole number, got {last:?} (CPUT key value VERSION)"))?;
            Command::Op(Op::CPut { key: key(), value: args[1..args.len() - 1].join(" "), version })
        }
        "cput" => return Err(usage("a key, a value and a version (CPUT key value VERSION)")),
        "time" | "help" | "quit" | "exit" if !args.is_empty() => {
            return Err(format!("{name} takes no arguments"));
        }
        "time" => Command::Time,
        "help" | "?" => Command::Help,
        "quit" | "exit" => Command::Quit,
        _ => {
            return Err(format!("unknown command {name:?} (GET, PUT, APPEND, DELETE, CPUT, time, help, quit)"));
        }
    };
    Ok(Some(command))
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

/// The reply line for `outcome` of `op`.
pub fn reply(op: &Op, outcome: &Outcome) -> String {
    match (op, outcome) {
        (_, Outcome::Value { value: Some(v), version }) => format!("{} (version {version})", quote(v)),
        (_, Outcome::Value { value: None, .. }) => "null".to_string(),
        (_, Outcome::Done) => "OK".to_string(),
        (Op::CPut { key, version, .. }, Outcome::ErrVersion) => {
            format!("ERR_VERSION: {} is not at version {version}; nothing changed", quote(key))
        }
        (_, Outcome::ErrVersion) => "ERR_VERSION".to_string(),
        (_, Outcome::ErrMaybe) => "MAYBE: a retry cannot tell whether it took effect; GET to find out".to_string(),
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
        assert_eq!(err("PUT \"k v"), "unterminated quote starting at column 5");
        assert_eq!(err("time now"), "time takes no arguments");
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
        for word in ["plain", "two words", "q\"uote", "back\\slash", "", "null"] {
            assert_eq!(split_words(&quote(word)).unwrap(), vec![word.to_string()], "{word:?}");
        }
    }
}
