//! labrpc over TCP on loopback: the typed API between sockets, reconnects, timeouts, and a server
//! that closes misbehaving peers (wrong protocol, garbage header, oversized frame, a stall
//! mid-frame, unknown method) while it keeps serving everyone else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use labrpc::net::tcp::{self, frame, TcpConfig, TcpServer};
use labrpc::net::{ClientEnd, RpcError, Server, Service};

fn test_config() -> TcpConfig {
    TcpConfig {
        call_timeout: Duration::from_millis(500),
        frame_timeout: Duration::from_millis(300),
        max_frame_bytes: 4096,
        reconnect_backoff: Duration::from_millis(10),
        ..TcpConfig::default()
    }
}

/// "Calc.Add" adds, "Calc.Sleep" sleeps that many ms then answers it, "Calc.Echo" echoes bytes,
/// "Calc.Pad" answers twice as many zero bytes as asked.
fn calc() -> Server {
    Server::new().with_service(
        Service::new("Calc")
            .method("Add", |(a, b): (u64, u64)| a + b)
            .method("Sleep", |ms: u64| {
                std::thread::sleep(Duration::from_millis(ms));
                ms
            })
            .method("Echo", |bytes: Vec<u8>| bytes)
            .method("Pad", |n: u64| vec![0u8; 2 * n as usize]),
    )
}

fn serve() -> TcpServer {
    TcpServer::bind("127.0.0.1:0", calc(), test_config()).expect("bind on loopback")
}

fn end(server: &TcpServer) -> ClientEnd {
    tcp::connect(&server.local_addr().to_string(), test_config())
}

fn add(end: &ClientEnd, a: u64, b: u64) -> Result<u64, RpcError> {
    end.call("Calc.Add", &(a, b))
}

/// Waits (at most 5 s) for the server to record a rejection containing `what`; returns it.
fn rejection_containing(server: &TcpServer, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(r) = server.rejections().into_iter().find(|r| r.contains(what)) {
            return r;
        }
        assert!(Instant::now() < deadline, "no rejection mentioning {what:?}; got {:?}", server.rejections());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True when the server closed `raw` (EOF or reset within 5 s).
fn closed_by_server(raw: &mut TcpStream) -> bool {
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    matches!(raw.read(&mut buf), Ok(0) | Err(_))
}

fn raw_labrpc(server: &TcpServer) -> TcpStream {
    let mut raw = TcpStream::connect(server.local_addr()).unwrap();
    raw.write_all(frame::PREAMBLE).unwrap();
    raw
}

#[test]
fn typed_calls_share_one_connection_and_run_concurrently() {
    let server = serve();
    let end = end(&server);
    assert_eq!(add(&end, 2, 3), Ok(5));
    let threads: Vec<_> = (0..8u64)
        .map(|i| {
            let end = end.clone();
            std::thread::spawn(move || (0..50u64).map(|j| add(&end, i, j).unwrap()).sum::<u64>())
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, (0..8u64).map(|i| (0..50u64).map(|j| i + j).sum::<u64>()).sum());
    assert_eq!(server.connection_count(), 1, "clones of an end reuse its one connection");
    // Four slow calls at once finish in about one sleep, not four.
    let start = Instant::now();
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let end = end.clone();
            std::thread::spawn(move || end.call::<_, u64>("Calc.Sleep", &200u64))
        })
        .collect();
    for t in slow {
        assert_eq!(t.join().unwrap(), Ok(200));
    }
    assert!(start.elapsed() < Duration::from_millis(700), "calls were serialised: {:?}", start.elapsed());
}

#[test]
fn a_refused_connection_is_unreachable_and_a_restarted_server_is_reached_again() {
    let server = serve();
    let addr = server.local_addr();
    let end = end(&server);
    assert_eq!(add(&end, 1, 1), Ok(2));
    drop(server);
    // The first call may still go out on the old connection before its close is seen: Lost.
    let first = add(&end, 1, 1);
    assert!(matches!(first, Err(RpcError::Lost | RpcError::Unreachable)), "{first:?}");
    std::thread::sleep(Duration::from_millis(20)); // past the reconnect backoff
    assert_eq!(add(&end, 1, 1), Err(RpcError::Unreachable), "nobody listens any more");
    let again = TcpServer::bind(addr, calc(), test_config()).expect("rebind the same port");
    let deadline = Instant::now() + Duration::from_secs(2);
    let answer = loop {
        match add(&end, 1, 2) {
            Ok(v) => break v,
            Err(e) => assert!(Instant::now() < deadline, "never reconnected: {e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(answer, 3);
    drop(again);
}

#[test]
fn a_call_without_reply_times_out_as_lost_and_the_next_call_works() {
    let server = serve();
    let end = end(&server);
    let start = Instant::now();
    assert_eq!(end.call::<_, u64>("Calc.Sleep", &2000u64), Err(RpcError::Lost));
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(500) && waited < Duration::from_millis(1500), "waited {waited:?}");
    assert_eq!(add(&end, 4, 4), Ok(8));
}

#[test]
fn a_peer_speaking_another_protocol_is_closed_and_named() {
    let server = serve();
    let good = end(&server);
    let mut raw = TcpStream::connect(server.local_addr()).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let r = rejection_containing(&server, "does not speak labrpc");
    assert!(r.contains(&raw.local_addr().unwrap().to_string()), "the peer is named: {r}");
    assert!(closed_by_server(&mut raw));
    assert_eq!(add(&good, 1, 2), Ok(3));
}

#[test]
fn a_garbage_frame_header_closes_only_that_connection() {
    let server = serve();
    let good = end(&server);
    assert_eq!(add(&good, 1, 2), Ok(3));
    let mut raw = raw_labrpc(&server);
    raw.write_all(&3u32.to_le_bytes()).unwrap();
    raw.write_all(&[0xff, 0xff, 0xff]).unwrap();
    rejection_containing(&server, "undecodable frame header");
    assert!(closed_by_server(&mut raw));
    assert_eq!(add(&good, 2, 2), Ok(4), "the good client's connection survives");
}

#[test]
fn an_oversized_frame_is_refused_without_reading_it() {
    let server = serve();
    let good = end(&server);
    let mut raw = raw_labrpc(&server);
    raw.write_all(&1_000_000u32.to_le_bytes()).unwrap();
    let r = rejection_containing(&server, "above the limit of 4096 bytes");
    assert!(r.contains("1000000 bytes"), "{r}");
    assert!(closed_by_server(&mut raw));
    assert_eq!(add(&good, 1, 2), Ok(3));
}

#[test]
fn a_peer_stalled_mid_frame_is_closed_after_the_frame_timeout_and_others_are_served_meanwhile() {
    let server = serve();
    let good = end(&server);
    let mut raw = raw_labrpc(&server);
    raw.write_all(&100u32.to_le_bytes()).unwrap();
    raw.write_all(&[0u8; 10]).unwrap();
    // While it stalls, the good client is served.
    for i in 0..10 {
        assert_eq!(add(&good, i, 1), Ok(i + 1));
    }
    let r = rejection_containing(&server, "stalled mid-frame");
    assert!(r.contains("100 bytes announced"), "{r}");
    assert!(closed_by_server(&mut raw));
    assert_eq!(add(&good, 1, 2), Ok(3));
}

#[test]
fn a_peer_silent_after_connecting_is_closed() {
    let server = serve();
    let mut raw = TcpStream::connect(server.local_addr()).unwrap();
    rejection_containing(&server, "no labrpc preamble");
    assert!(closed_by_server(&mut raw));
}

#[test]
fn a_request_above_the_frame_limit_fails_its_caller_before_sending() {
    let server = serve();
    let end = end(&server);
    let reply: Result<Vec<u8>, _> = end.call("Calc.Echo", &vec![7u8; 3000]);
    assert_eq!(reply.map(|v| v.len()), Ok(3000));
    let end2 = end.clone();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        end2.call::<_, Vec<u8>>("Calc.Echo", &vec![7u8; 5000])
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("above the frame limit of 4096 bytes"), "{msg}");
    assert_eq!(add(&end, 1, 1), Ok(2));
    assert!(server.rejections().is_empty(), "nothing oversized reached the server");
}

#[test]
fn a_reply_above_the_clients_limit_loses_the_call_and_the_end_reconnects() {
    let big = TcpConfig { max_frame_bytes: 1 << 20, ..test_config() };
    let server = TcpServer::bind("127.0.0.1:0", calc(), big).unwrap();
    let end = end(&server);
    let reply: Result<Vec<u8>, _> = end.call("Calc.Echo", &vec![1u8; 4000]);
    assert_eq!(reply.map(|v| v.len()), Ok(4000));
    // The small end's request is small, but the reply (8000 bytes) is above its 4096-byte limit.
    let small = tcp::connect(&server.local_addr().to_string(), test_config());
    let got: Result<Vec<u8>, _> = small.call("Calc.Pad", &4000u64);
    assert_eq!(got, Err(RpcError::Lost));
    assert_eq!(add(&small, 1, 1), Ok(2), "the next call reconnects");
}

#[test]
fn an_unknown_method_fails_the_caller_with_the_known_ones() {
    let server = serve();
    let end = end(&server);
    let end2 = end.clone();
    let err =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || end2.call::<_, u64>("Calc.Mul", &(2u64, 3u64))))
            .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("unknown method \"Calc.Mul\"") && msg.contains("Calc.Add"), "{msg}");
    assert_eq!(add(&end, 1, 1), Ok(2), "the connection is still usable");
}

#[test]
fn a_peer_that_does_not_read_its_replies_is_closed_and_others_are_served() {
    let server = serve();
    let good = end(&server);
    let raw = raw_labrpc(&server);
    // Requests for 4000-byte replies, never read: once the socket buffers are full (a few MiB on
    // loopback), the server's write times out. Written from a thread: our own writes stall too
    // once the server stops reading us.
    let mut writer = raw.try_clone().unwrap();
    let flood = std::thread::spawn(move || {
        for id in 0..5000u64 {
            let request = frame::encode(&frame::Header::Request { id, method: "Calc.Pad".into() }, &[0xd0, 0x0f]);
            if writer.write_all(&request).is_err() {
                return;
            }
        }
    });
    let r = rejection_containing(&server, "does not read its replies");
    assert!(r.contains(&raw.local_addr().unwrap().to_string()), "{r}");
    assert_eq!(add(&good, 1, 2), Ok(3));
    drop(raw.shutdown(std::net::Shutdown::Both));
    flood.join().unwrap();
}
