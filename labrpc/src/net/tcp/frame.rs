//! The wire format. A connection starts with [`PREAMBLE`] from the caller; then every message is
//! one frame: a little-endian `u32` length, then that many bytes: a postcard-encoded [`Header`]
//! followed by the body (the postcard-encoded arguments or reply, exactly as in a simulation).

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

/// What a caller sends first, so a peer speaking something else (HTTP, a port scanner, another
/// version) is told apart from a damaged frame and named in the log.
pub const PREAMBLE: &[u8; 8] = b"labrpc1\n";

/// Bytes of the length prefix.
pub const LENGTH_BYTES: usize = 4;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Header {
    /// A call of `method` ("Service.Method"); its reply carries the same `id`.
    Request { id: u64, method: String },
    /// The handler's reply to call `id`; the body is the encoded reply.
    Reply { id: u64 },
    /// Call `id` could not be dispatched (unknown method, undecodable arguments): the reason.
    Failed { id: u64, reason: String },
}

/// Why reading a frame failed.
#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    Closed,
    /// The length prefix announces more than the limit: the frame is not read.
    TooLarge { size_bytes: usize, max_bytes: usize },
    /// The bytes after the length prefix are not a header.
    Garbage(String),
    /// A socket error, including a read timeout (a peer stalled mid-frame).
    Io(io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Closed => f.write_str("connection closed by the peer"),
            FrameError::TooLarge { size_bytes, max_bytes } => {
                write!(f, "frame of {size_bytes} bytes announced, above the limit of {max_bytes} bytes")
            }
            FrameError::Garbage(e) => write!(f, "undecodable frame header: {e}"),
            FrameError::Io(e) if is_timeout(e) => write!(f, "stalled mid-frame (read timed out: {e})"),
            FrameError::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

/// A read timeout shows up as either kind, depending on the platform.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Encodes one whole frame (prefix included), ready for a single write, into a buffer of its
/// exact size.
pub fn encode(header: &Header, body: &[u8]) -> Vec<u8> {
    let header_bytes = postcard::experimental::serialized_size(header).expect("a frame header always encodes");
    let mut frame = Vec::with_capacity(LENGTH_BYTES + header_bytes + body.len());
    frame.extend_from_slice(&[0u8; LENGTH_BYTES]);
    crate::net::encode_into(header, &mut frame).expect("a frame header always encodes");
    frame.extend_from_slice(body);
    let len = u32::try_from(frame.len() - LENGTH_BYTES).expect("labrpc tcp: frame above 4 GiB");
    frame[..LENGTH_BYTES].copy_from_slice(&len.to_le_bytes());
    frame
}

pub fn write_frame(w: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    w.write_all(frame)?;
    w.flush()
}

/// Reads the length prefix. `Closed` only when the peer closed before the first byte of it.
pub fn read_length(r: &mut impl Read, max_bytes: usize) -> Result<usize, FrameError> {
    let mut prefix = [0u8; LENGTH_BYTES];
    let mut got = 0;
    while got < LENGTH_BYTES {
        match r.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Closed),
            Ok(0) => return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let size_bytes = u32::from_le_bytes(prefix) as usize;
    if size_bytes > max_bytes {
        return Err(FrameError::TooLarge { size_bytes, max_bytes });
    }
    Ok(size_bytes)
}

/// Reads a frame of `size_bytes` after its prefix and splits it into header and body.
pub fn read_rest(r: &mut impl Read, size_bytes: usize) -> Result<(Header, Vec<u8>), FrameError> {
    let mut payload = vec![0u8; size_bytes];
    r.read_exact(&mut payload).map_err(FrameError::Io)?;
    let (header, body) =
        postcard::take_from_bytes::<Header>(&payload).map_err(|e| FrameError::Garbage(e.to_string()))?;
    let body = body.to_vec();
    Ok((header, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips() {
        let header = Header::Request { id: 7, method: "Svc.M".into() };
        let frame = encode(&header, b"body");
        let mut r = &frame[..];
        let n = read_length(&mut r, 1024).unwrap();
        assert_eq!(n, frame.len() - LENGTH_BYTES);
        let (h, body) = read_rest(&mut r, n).unwrap();
        assert_eq!((h, body), (header, b"body".to_vec()));
    }

    #[test]
    fn a_frame_is_the_length_then_postcards_header_then_the_body() {
        let header = Header::Failed { id: 300, reason: "no such method: ∅".repeat(20) };
        let body: Vec<u8> = (0..1000u32).map(|k| (k * 31) as u8).collect();
        let frame = encode(&header, &body);
        let mut expected = postcard::to_allocvec(&header).unwrap();
        expected.extend_from_slice(&body);
        assert_eq!(frame[..LENGTH_BYTES], (expected.len() as u32).to_le_bytes());
        assert_eq!(frame[LENGTH_BYTES..], expected[..]);
        assert_eq!(frame.capacity(), frame.len(), "the frame's size was not measured exactly");
    }

    #[test]
    fn an_oversized_prefix_is_refused_before_reading() {
        let frame = encode(&Header::Reply { id: 1 }, &[0u8; 100]);
        let err = read_length(&mut &frame[..], 10).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { max_bytes: 10, .. }), "{err}");
    }

    #[test]
    fn garbage_after_the_prefix_is_named() {
        let mut frame = 3u32.to_le_bytes().to_vec();
        frame.extend_from_slice(&[0xff, 0xff, 0xff]);
        let mut r = &frame[..];
        let n = read_length(&mut r, 1024).unwrap();
        let err = read_rest(&mut r, n).unwrap_err();
        assert!(err.to_string().contains("undecodable frame header"), "{err}");
    }
}
