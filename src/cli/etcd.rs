//! A minimal client of etcd v3's HTTP/JSON gateway, so `raftkv bench --etcd` can put the same
//! closed-loop load on an etcd cluster as on ours: `POST /v3/kv/put` and `POST /v3/kv/range`
//! (etcd's default linearizable read) with base64 keys and values, over one kept-alive
//! HTTP/1.1 connection per client, reconnecting after an error.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::kvsrv::Op;

/// The most a reply may hold; a bigger one is an error, not an allocation.
const MAX_REPLY_BYTES: usize = 16 << 20;
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One client of one etcd endpoint ("HOST:PORT" of its client URL).
pub struct EtcdClient {
    addr: String,
    conn: Option<BufReader<TcpStream>>,
}

impl EtcdClient {
    pub fn new(addr: &str) -> EtcdClient {
        EtcdClient { addr: addr.to_string(), conn: None }
    }

    /// Runs a get or a put; Err names the endpoint and what failed.
    pub fn execute(&mut self, op: &Op) -> Result<(), String> {
        let (path, body) = match op {
            Op::Get { key } => ("/v3/kv/range", format!("{{\"key\":\"{}\"}}", base64(key.as_bytes()))),
            Op::Put { key, value } => (
                "/v3/kv/put",
                format!("{{\"key\":\"{}\",\"value\":\"{}\"}}", base64(key.as_bytes()), base64(value.as_bytes())),
            ),
            other => return Err(format!("the etcd bench runs gets and puts only, not {other:?}")),
        };
        let result = self.post(path, &body);
        if result.is_err() {
            self.conn = None;
        }
        result.map_err(|e| format!("etcd {}{path}: {e}", self.addr))
    }

    fn post(&mut self, path: &str, body: &str) -> Result<(), String> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(&self.addr).map_err(|e| format!("connect: {e}"))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(|e| e.to_string())?;
            stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(|e| e.to_string())?;
            self.conn = Some(BufReader::new(stream));
        }
        let conn = self.conn.as_mut().expect("connected above");
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        conn.get_mut().write_all(request.as_bytes()).map_err(|e| format!("send: {e}"))?;
        let (status, reply) = read_reply(conn)?;
        if status != 200 {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&reply)));
        }
        let json: serde_json::Value = serde_json::from_slice(&reply).map_err(|e| format!("reply is not JSON ({e})"))?;
        if json.get("error").is_some() || json.get("header").is_none() {
            return Err(format!("unexpected reply {json}"));
        }
        Ok(())
    }
}

/// Reads one HTTP/1.1 response: its status and body (Content-Length or chunked).
fn read_reply(conn: &mut BufReader<TcpStream>) -> Result<(u16, Vec<u8>), String> {
    let mut line = String::new();
    let read_line = |conn: &mut BufReader<TcpStream>, line: &mut String| -> Result<(), String> {
        line.clear();
        match conn.read_line(line) {
            Ok(0) => Err("connection closed".to_string()),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("receive: {e}")),
        }
    };
    read_line(conn, &mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        read_line(conn, &mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.trim().parse::<usize>().map_err(|_| format!("bad {header:?}"))?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") && value.trim().eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            read_line(conn, &mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("bad chunk size {line:?}"))?;
            if body.len() + size > MAX_REPLY_BYTES {
                return Err(format!("reply over {MAX_REPLY_BYTES} bytes"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..]).map_err(|e| format!("receive: {e}"))?;
            read_line(conn, &mut line)?; // the CRLF after the chunk (or the trailer's end)
            if size == 0 {
                break;
            }
        }
    } else {
        let length = length.ok_or("reply has neither Content-Length nor chunked encoding")?;
        if length > MAX_REPLY_BYTES {
            return Err(format!("reply of {length} bytes is over {MAX_REPLY_BYTES}"));
        }
        body.resize(length, 0);
        conn.read_exact(&mut body).map_err(|e| format!("receive: {e}"))?;
    }
    Ok((status, body))
}

/// Standard base64 with padding (etcd's JSON gateway carries bytes so).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn only_gets_and_puts_are_sent() {
        let err = EtcdClient::new("127.0.0.1:9").execute(&Op::Delete { key: "k".into() }).unwrap_err();
        assert!(err.contains("gets and puts only"), "{err}");
    }
}
