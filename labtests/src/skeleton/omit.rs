//! Regions of a Rust file the skeleton leaves out, between two marker comments on lines of
//! their own: `// skeleton: omit begin` (anything may follow, say why) and
//! `// skeleton: omit end`. For what a file-level rule cannot say: a registration of a staff-only
//! module in a file the student gets, the fields of a struct whose design is the exercise.

const BEGIN: &str = "// skeleton: omit begin";
const END: &str = "// skeleton: omit end";

/// `text` without its marked regions (markers included), or an error naming `path` and the line
/// of an unbalanced marker.
pub fn omit_regions(path: &str, text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<usize> = None;
    // Just after a region that had a blank line before it: a blank line after it would make two.
    let mut after_region = false;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        let follows_region = std::mem::take(&mut after_region);
        if follows_region && trimmed.is_empty() && (out.is_empty() || out.ends_with("\n\n")) {
            continue;
        }
        if trimmed.starts_with(BEGIN) {
            if let Some(first) = open {
                return Err(format!("{path}:{}: `{BEGIN}` inside the region opened at line {first}", index + 1));
            }
            open = Some(index + 1);
        } else if trimmed.starts_with(END) {
            if open.take().is_none() {
                return Err(format!("{path}:{}: `{END}` without a `{BEGIN}` before it", index + 1));
            }
            after_region = true;
        } else if open.is_none() {
            out.push_str(line);
        }
    }
    match open {
        Some(first) => Err(format!("{path}:{first}: `{BEGIN}` is never closed by `{END}`")),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_their_markers_go() {
        let text = "a\n    // skeleton: omit begin (staff only)\n    b\n    // skeleton: omit end\nc\n";
        assert_eq!(omit_regions("f.rs", text).unwrap(), "a\nc\n");
        assert_eq!(omit_regions("f.rs", "no markers\n").unwrap(), "no markers\n");
        let spaced = "a\n\n// skeleton: omit begin\nb\n// skeleton: omit end\n\nc\n";
        assert_eq!(omit_regions("f.rs", spaced).unwrap(), "a\n\nc\n", "one blank line stays, not two");
    }

    #[test]
    fn unbalanced_markers_name_the_file_and_line() {
        let open = omit_regions("f.rs", "a\n// skeleton: omit begin\n").unwrap_err();
        assert_eq!(open, "f.rs:2: `// skeleton: omit begin` is never closed by `// skeleton: omit end`");
        let stray = omit_regions("f.rs", "// skeleton: omit end\n").unwrap_err();
        assert!(stray.starts_with("f.rs:1: `// skeleton: omit end` without"), "{stray}");
        let nested = omit_regions("f.rs", "// skeleton: omit begin\n// skeleton: omit begin\n").unwrap_err();
        assert!(nested.starts_with("f.rs:2:"), "{nested}");
    }
}
