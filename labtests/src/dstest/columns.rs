//! The replay view: trace lines laid out with one column per node, like the dslogs
//! pretty-printer, so what each node did at a given virtual time reads across.

/// Lays out trace lines (`ms node thread LEVEL target: message`) in `width` characters.
pub fn columns(trace: &str, width: usize) -> String {
    let mut nodes: Vec<String> = Vec::new();
    let mut parsed = Vec::new();
    for line in trace.lines() {
        let mut parts = line.split_whitespace();
        let (Some(ms), Some(node), Some(thread)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let rest: Vec<&str> = parts.skip(1).collect();
        let message = rest.join(" ");
        // Drop the target ("raftkv::raft:") for room; keep the message.
        let message = message.split_once(": ").map_or(message.as_str(), |(_, m)| m).to_string();
        if !nodes.iter().any(|n| n == node) {
            nodes.push(node.to_string());
        }
        parsed.push((ms.to_string(), node.to_string(), format!("{thread} {message}")));
    }
    if nodes.is_empty() {
        return String::new();
    }
    let time_width = 10;
    let column = ((width.saturating_sub(time_width)) / nodes.len()).max(12);
    let mut out = String::new();
    out.push_str(&format!("{:>w$} ", "ms", w = time_width - 1));
    for n in &nodes {
        out.push_str(&format!("{:<column$}", truncate(n, column - 1)));
    }
    out.push('\n');
    for (ms, node, text) in parsed {
        let col = nodes.iter().position(|n| *n == node).unwrap_or(0);
        out.push_str(&format!(
            "{ms:>w$} {}{}\n",
            " ".repeat(col * column),
            truncate(&text, column - 1),
            w = time_width - 1
        ));
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_column_per_node() {
        let trace = "    10.000 peer-0     ticker#2     INFO  raftkv::raft: election term=1\n    11.000 peer-1     rpc#5        INFO  raftkv::raft: voted\n";
        let out = super::columns(trace, 80);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("peer-0") && lines[0].contains("peer-1"));
        let col1 = lines[0].find("peer-1").unwrap();
        assert_eq!(lines[2].find("rpc#5"), Some(col1), "{out}");
        assert!(lines[1].contains("ticker#2 election term=1"));
    }
}
