//! The client's one-line transaction syntax:
//!
//! ```text
//! TXN [IF cond [AND cond]...] THEN op [; op]... [ELSE op [; op]...]
//! cond: VERSION key OP N  |  VALUE key OP value        OP: = != < >
//! op:   any single-step command (GET, PUT, APPEND, DELETE, CPUT, SWAP, SCAN)
//! ```
//!
//! IF, AND, THEN, ELSE and ';' count only unquoted, so a quoted value may be any of them.

use super::command::{parse_op, Token};
use crate::kvsrv::{Cmp, Compare, Op, Target, Txn};

/// Parses the tokens after `TXN` (split with ';' as a token of its own).
pub fn parse_txn(tokens: &[Token]) -> Result<Txn, String> {
    let mut rest = tokens;
    let mut compares = Vec::new();
    match rest.first() {
        Some(t) if t.is_keyword("if") => {
            let then_at = rest.iter().position(|t| t.is_keyword("then")).ok_or("TXN: IF ... needs a THEN")?;
            for (i, cond) in rest[1..then_at].split(|t| t.is_keyword("and")).enumerate() {
                compares.push(parse_compare(cond).map_err(|e| format!("TXN: condition {}: {e}", i + 1))?);
            }
            rest = &rest[then_at + 1..];
        }
        Some(t) if t.is_keyword("then") => rest = &rest[1..],
        Some(t) => return Err(format!("TXN: expected IF or THEN after TXN, got {:?}", t.text)),
        None => return Err("TXN takes [IF cond [AND cond]...] THEN op [; op]... [ELSE op [; op]...]".to_string()),
    }
    let (then_part, else_part) = match rest.iter().position(|t| t.is_keyword("else")) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let success = parse_ops(then_part, "THEN")?;
    let failure = match else_part {
        Some(part) if part.iter().any(|t| t.is_keyword("else")) => return Err("TXN: more than one ELSE".to_string()),
        Some([]) => return Err("TXN: ELSE needs at least one operation".to_string()),
        Some(part) => parse_ops(part, "ELSE")?,
        None => Vec::new(),
    };
    Ok(Txn { compares, success, failure })
}

/// `VERSION key OP N` or `VALUE key OP value`.
fn parse_compare(tokens: &[Token]) -> Result<Compare, String> {
    let form = "VERSION key OP N or VALUE key OP value, OP one of = != < >";
    let [what, key, op, operand] = tokens else {
        let got: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        return Err(format!("expected {form} (4 words), got {:?}", got.join(" ")));
    };
    let cmp = Cmp::from_symbol(&op.text)
        .filter(|_| !op.quoted)
        .ok_or_else(|| format!("{:?} is not an operator (= != < >)", op.text))?;
    let target = if what.is_keyword("version") {
        let n = operand.text.parse::<u64>().map_err(|_| format!("version {:?} is not a whole number", operand.text))?;
        Target::Version(n)
    } else if what.is_keyword("value") {
        Target::Value(operand.text.clone())
    } else {
        return Err(format!("expected VERSION or VALUE, got {:?} ({form})", what.text));
    };
    Ok(Compare { key: key.text.clone(), cmp, target })
}

/// Operations separated by ';' (a trailing ';' is allowed).
fn parse_ops(tokens: &[Token], branch: &str) -> Result<Vec<Op>, String> {
    let mut segments: Vec<&[Token]> = tokens.split(|t| t.text == ";" && !t.quoted).collect();
    if segments.last().is_some_and(|s| s.is_empty()) {
        segments.pop();
    }
    let mut ops = Vec::new();
    for (i, segment) in segments.into_iter().enumerate() {
        let words: Vec<String> = segment.iter().map(|t| t.text.clone()).collect();
        let Some((name, args)) = words.split_first() else {
            return Err(format!("TXN: {branch} operation {} is empty (two ';' in a row?)", i + 1));
        };
        if let Some(keyword) = segment.iter().find(|t| t.is_keyword("if") || t.is_keyword("then")) {
            return Err(format!("TXN: {} in the {branch} operations (quote it if it is a value)", keyword.text));
        }
        ops.push(parse_op(name, args).map_err(|e| format!("TXN: {branch} operation {}: {e}", i + 1))?);
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::command::{parse, Command};

    fn txn(line: &str) -> Txn {
        match parse(line) {
            Ok(Some(Command::Op(Op::Txn(txn)))) => txn,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    fn err(line: &str) -> String {
        parse(line).unwrap_err()
    }

    #[test]
    fn transactions_parse_conditions_and_both_branches() {
        let t = txn("txn if version a = 3 and VALUE b != \"x y\" then put a 1 2; delete b else get a");
        assert_eq!(
            t.compares,
            vec![
                Compare { key: "a".into(), cmp: Cmp::Eq, target: Target::Version(3) },
                Compare { key: "b".into(), cmp: Cmp::Ne, target: Target::Value("x y".into()) },
            ]
        );
        assert_eq!(t.success, vec![Op::Put { key: "a".into(), value: "1 2".into() }, Op::Delete { key: "b".into() }]);
        assert_eq!(t.failure, vec![Op::Get { key: "a".into() }]);
        // No conditions: THEN always runs. A trailing ';' is fine; quoted keywords are values.
        let t = txn("TXN THEN PUT k \"else\" ; SWAP k ';' ;");
        assert!(t.compares.is_empty() && t.failure.is_empty());
        assert_eq!(
            t.success,
            vec![Op::Put { key: "k".into(), value: "else".into() }, Op::Swap { key: "k".into(), value: ";".into() }]
        );
        // Outside TXN a ';' is part of a value.
        assert_eq!(parse("PUT k a;b"), Ok(Some(Command::Op(Op::Put { key: "k".into(), value: "a;b".into() }))));
    }

    #[test]
    fn bad_transactions_say_what_is_wrong() {
        assert!(err("TXN").starts_with("TXN takes [IF cond"));
        assert_eq!(err("TXN PUT k v"), "TXN: expected IF or THEN after TXN, got \"PUT\"");
        assert_eq!(err("TXN IF VERSION k = 1 PUT k v"), "TXN: IF ... needs a THEN");
        assert!(err("TXN IF VERSION k 1 THEN GET k").starts_with("TXN: condition 1: expected VERSION key OP N"));
        assert_eq!(err("TXN IF VERSION k = x THEN GET k"), "TXN: condition 1: version \"x\" is not a whole number");
        assert_eq!(err("TXN IF VERSION k == 1 THEN GET k"), "TXN: condition 1: \"==\" is not an operator (= != < >)");
        assert!(err("TXN IF SIZE k = 1 THEN GET k")
            .starts_with("TXN: condition 1: expected VERSION or VALUE, got \"SIZE\""));
        assert!(err("TXN IF VERSION a = 1 AND VERSION b = THEN GET k").starts_with("TXN: condition 2:"));
        assert_eq!(err("TXN THEN GET k ;; GET j"), "TXN: THEN operation 2 is empty (two ';' in a row?)");
        assert_eq!(err("TXN THEN GET k ELSE GET k ELSE GET j"), "TXN: more than one ELSE");
        assert_eq!(err("TXN THEN GET k ELSE"), "TXN: ELSE needs at least one operation");
        assert_eq!(err("TXN THEN GET"), "TXN: THEN operation 1: GET takes a key (GET key); got 0 argument(s)");
        assert!(err("TXN THEN FROB k").starts_with("TXN: THEN operation 1: unknown command \"FROB\""));
        assert_eq!(err("TXN THEN TXN THEN GET k"), "TXN: THEN in the THEN operations (quote it if it is a value)");
        assert_eq!(err("TXN THEN PUT k \"unterminated"), "unterminated quote starting at column 16");
    }
}
