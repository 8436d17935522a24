//! Stubbing a Rust file: every function body becomes `todo!("Type::name")`, unit tests
//! (`#[cfg(test)]` items) go, and everything else (signatures, doc comments, types, constants,
//! comments outside bodies) stays byte for byte.
//!
//! The file is parsed with `syn` only to find where bodies and test items are; the edits are made
//! on the original text, so nothing is reformatted and the result stays `cargo fmt` clean.

use std::ops::Range;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{
    Attribute, Block, ImplItem, Item, Meta, ReturnType, Signature, TraitItem, Type, TypeImplTrait, TypeParamBound,
};

/// A body whose first line is this comment is kept (wiring that is not the exercise, such as
/// registering a service's methods); the marker line itself goes.
pub const KEEP: &str = "// skeleton: keep";

/// Lints a stubbed file would raise until the student writes its bodies (parameters and imports
/// are not used yet, private helpers not called): allowed at its top, for the student to remove.
const ALLOW: &str = concat!(
    "// Skeleton: the bodies below are todo!() until you write them; delete this allow once you have.\n",
    "#![allow(dead_code, unused_imports, unused_variables, unused_mut, unreachable_code, clippy::ptr_arg)]\n",
);

/// A stubbed file and what was done to it.
#[derive(Debug)]
pub struct Stubbed {
    pub text: String,
    pub bodies: usize,
    pub tests_removed: usize,
}

/// Stubs `source`, the text of `path` (for messages), whose module path is `module` (such as
/// `raft::log`; empty for the crate root), used to name free functions.
pub fn stub(path: &str, module: &str, source: &str) -> Result<Stubbed, String> {
    let file = syn::parse_file(source).map_err(|e| {
        let at = e.span().start();
        format!("{path}:{}:{}: cannot parse: {e}", at.line, at.column + 1)
    })?;
    let mut edits = Edits { path, source, list: Vec::new(), bodies: 0, tests_removed: 0 };
    edits.items(&file.items, module)?;
    let allow_at = match file.attrs.last() {
        Some(last) => line_end(source, byte_range(last.span()).end),
        None => 0,
    };
    let allow = if allow_at == 0 { format!("{ALLOW}\n") } else { format!("\n{ALLOW}") };
    edits.list.push((allow_at..allow_at, allow));
    let (bodies, tests_removed) = (edits.bodies, edits.tests_removed);
    Ok(Stubbed { text: apply(source, edits.list)?, bodies, tests_removed })
}

struct Edits<'a> {
    path: &'a str,
    source: &'a str,
    list: Vec<(Range<usize>, String)>,
    bodies: usize,
    tests_removed: usize,
}

impl Edits<'_> {
    fn items(&mut self, items: &[Item], module: &str) -> Result<(), String> {
        for item in items {
            if let Some(attrs) = item_attrs(item) {
                if is_cfg_test(attrs) {
                    self.remove(item.span());
                    continue;
                }
            }
            match item {
                Item::Fn(f) => self.body(&f.sig, &f.block, &qualified(module, &f.sig.ident.to_string()))?,
                Item::Impl(imp) => {
                    let owner = type_name(&imp.self_ty);
                    for member in &imp.items {
                        if let ImplItem::Fn(f) = member {
                            if is_cfg_test(&f.attrs) {
                                self.remove(f.span());
                            } else {
                                self.body(&f.sig, &f.block, &format!("{owner}::{}", f.sig.ident))?;
                            }
                        }
                    }
                }
                Item::Trait(t) => {
                    for member in &t.items {
                        if let TraitItem::Fn(f) = member {
                            if let Some(block) = &f.default {
                                self.body(&f.sig, block, &format!("{}::{}", t.ident, f.sig.ident))?;
                            }
                        }
                    }
                }
                Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        self.items(inner, &qualified(module, &m.ident.to_string()))?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Replaces `block` (a body of the function `sig`) with a `todo!` naming `label`.
    fn body(&mut self, sig: &Signature, block: &Block, label: &str) -> Result<(), String> {
        let range = byte_range(block.brace_token.span.join());
        let inside = &self.source[range.start + 1..range.end - 1];
        if inside.trim_start().starts_with(KEEP) {
            let marker = range.start + 1 + inside.find(KEEP).expect("just found");
            self.list.push((line_start(self.source, marker)..line_end(self.source, marker), String::new()));
            return Ok(());
        }
        let indent = indentation(self.source, range.end - 1);
        let todo = format!("todo!(\"{label}\")");
        let stub = match &sig.output {
            ReturnType::Type(_, ty) => match &**ty {
                // `!` does not implement the trait: an empty iterator after the todo!() gives the
                // opaque type its hidden type.
                Type::ImplTrait(t) if returns_iterator(t) => {
                    format!("{{\n{indent}    {todo};\n{indent}    std::iter::empty()\n{indent}}}")
                }
                Type::ImplTrait(_) => {
                    let at = sig.ident.span().start();
                    return Err(format!(
                        "{}:{}: {label} returns `impl Trait`, which a todo!() body does not satisfy: \
                         return a named type, or keep its body with `{KEEP}` as its first line",
                        self.path, at.line
                    ));
                }
                _ => format!("{{\n{indent}    {todo}\n{indent}}}"),
            },
            ReturnType::Default => format!("{{\n{indent}    {todo}\n{indent}}}"),
        };
        self.list.push((range, stub));
        self.bodies += 1;
        Ok(())
    }

    /// Removes the item at `span` with its whole lines, and one blank line if it leaves two.
    fn remove(&mut self, span: Span) {
        let range = byte_range(span);
        let (mut start, mut end) = (line_start(self.source, range.start), line_end(self.source, range.end));
        let blank_before = start == 0 || self.source[..start].ends_with("\n\n");
        if blank_before && self.source[end..].starts_with('\n') {
            end += 1;
        } else if end == self.source.len() && self.source[..start].ends_with("\n\n") {
            start -= 1;
        }
        self.list.push((start..end, String::new()));
        self.tests_removed += 1;
    }
}

fn qualified(module: &str, name: &str) -> String {
    if module.is_empty() {
        name.to_string()
    } else {
        format!("{module}::{name}")
    }
}

/// The last segment of an impl's self type (`Raft` for `impl<T> crate::raft::Raft<T>`).
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p.path.segments.last().map_or_else(|| "_".to_string(), |s| s.ident.to_string()),
        Type::Reference(r) => type_name(&r.elem),
        _ => "_".to_string(),
    }
}

/// `impl Iterator<..>` (or a double-ended or exact-size one), which `std::iter::Empty` satisfies.
fn returns_iterator(t: &TypeImplTrait) -> bool {
    t.bounds.iter().any(|b| match b {
        TypeParamBound::Trait(bound) => bound.path.segments.last().is_some_and(|s| {
            ["Iterator", "DoubleEndedIterator", "ExactSizeIterator"].contains(&s.ident.to_string().as_str())
        }),
        _ => false,
    })
}

fn item_attrs(item: &Item) -> Option<&[Attribute]> {
    Some(match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        _ => return None,
    })
}

fn is_cfg_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| matches!(&a.meta, Meta::List(l) if l.path.is_ident("cfg") && l.tokens.to_string() == "test"))
}

fn byte_range(span: Span) -> Range<usize> {
    span.byte_range()
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Just past the newline that ends the line holding `at` (or the end of the text).
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

fn indentation(text: &str, at: usize) -> &str {
    let start = line_start(text, at);
    let line = &text[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// Applies non-overlapping edits.
fn apply(source: &str, mut edits: Vec<(Range<usize>, String)>) -> Result<String, String> {
    edits.sort_by_key(|(r, _)| (r.start, r.end));
    let mut out = String::with_capacity(source.len());
    let mut at = 0;
    for (range, text) in edits {
        if range.start < at {
            return Err(format!("overlapping edits at byte {}", range.start));
        }
        out.push_str(&source[at..range.start]);
        out.push_str(&text);
        at = range.end;
    }
    out.push_str(&source[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"//! A module.

use std::collections::BTreeMap;

/// A thing.
pub struct Thing {
    map: BTreeMap<u64, u64>,
}

impl Thing {
    /// Makes one.
    pub fn new() -> Thing {
        Thing { map: BTreeMap::new() }
    }

    pub fn service(&self) -> u64 {
        // skeleton: keep
        7
    }
}

/// Free.
fn helper(x: u64) -> u64 {
    let f = |y: u64| { y + 1 };
    f(x)
}

#[cfg(test)]
mod tests {
    #[test]
    fn t() {}
}
"#;

    #[test]
    fn bodies_become_todos_and_tests_go() {
        let out = stub("src/m.rs", "m", SOURCE).unwrap();
        let want = r#"//! A module.

// Skeleton: the bodies below are todo!() until you write them; delete this allow once you have.
#![allow(dead_code, unused_imports, unused_variables, unused_mut, unreachable_code, clippy::ptr_arg)]

use std::collections::BTreeMap;

/// A thing.
pub struct Thing {
    map: BTreeMap<u64, u64>,
}

impl Thing {
    /// Makes one.
    pub fn new() -> Thing {
        todo!("Thing::new")
    }

    pub fn service(&self) -> u64 {
        7
    }
}

/// Free.
fn helper(x: u64) -> u64 {
    todo!("m::helper")
}
"#;
        assert_eq!(out.text, want);
        assert_eq!((out.bodies, out.tests_removed), (2, 1));
    }

    #[test]
    fn impl_trait_returns_and_parse_errors_are_named() {
        let iter =
            stub("src/x.rs", "x", "fn f() -> impl Iterator<Item = u8> + '_ {\n    [1].into_iter()\n}\n").unwrap();
        assert!(iter.text.ends_with("{\n    todo!(\"x::f\");\n    std::iter::empty()\n}\n"), "{}", iter.text);
        let err = stub("src/x.rs", "x", "fn f() -> impl Fn() {\n    || {}\n}\n").unwrap_err();
        assert!(err.starts_with("src/x.rs:1: x::f returns `impl Trait`"), "{err}");
        let err = stub("src/y.rs", "y", "fn f( {\n").unwrap_err();
        assert!(err.starts_with("src/y.rs:1:"), "{err}");
    }
}
