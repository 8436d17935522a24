//! The reference servers check their own invariants with `assert!`s; a student's code has none,
//! so a mutant caught only by one of those proves nothing about the harness. Before a mutant is
//! built, every `assert!`, `assert_eq!` and `assert_ne!` in `src/` becomes its `debug_` form,
//! which a release build compiles out.

/// `source` with each `assert!(`, `assert_eq!(` and `assert_ne!(` macro call turned into its
/// `debug_assert` form; calls that are already `debug_`, or other names ending in `assert`, stay.
pub fn debug_only(source: &str) -> String {
    const MACROS: [&str; 3] = ["assert!", "assert_eq!", "assert_ne!"];
    let mut out = String::with_capacity(source.len() + 256);
    let mut rest = source;
    while let Some(at) = rest.find("assert") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let starts_word = !out.chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        if starts_word && MACROS.iter().any(|m| from.starts_with(m)) {
            out.push_str("debug_");
        }
        out.push_str("assert");
        rest = &from["assert".len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::debug_only;

    #[test]
    fn only_the_three_assert_macros_change() {
        let src = "assert!(a);\n    assert_eq!(b, c, \"x\");\nassert_ne!(d, e);\ndebug_assert!(f);\n\
                   debug_assert_eq!(g, h);\nmy_assert!(i);\nassertion(j);\nlet assert = 1;\n(assert!(k))";
        let want =
            "debug_assert!(a);\n    debug_assert_eq!(b, c, \"x\");\ndebug_assert_ne!(d, e);\ndebug_assert!(f);\n\
                    debug_assert_eq!(g, h);\nmy_assert!(i);\nassertion(j);\nlet assert = 1;\n(debug_assert!(k))";
        assert_eq!(debug_only(src), want);
        assert_eq!(debug_only(&debug_only(src)), want, "applying it twice changes nothing more");
    }
}
