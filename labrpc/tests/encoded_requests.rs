//! Handlers registered with `Service::method_encoded` get their request as the bytes the caller
//! encoded; a request of another type is still refused wherever the bytes are checked (debug
//! builds, and every call over TCP).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use labrpc::net::tcp::{self, TcpConfig, TcpServer};
use labrpc::net::{encode, Encoded, Network, Server, Service};
use labrpc::sim::{self, Config};
use labrpc::{node, NodeId};

type Put = (u64, String);

/// "Log.Put" answers the request's first field after checking that its bytes are the caller's
/// encoding; `runs` counts the handler's runs.
fn log_service(runs: Arc<AtomicU64>) -> Service {
    Service::new("Log").method_encoded("Put", move |request: Encoded<Put>| {
        runs.fetch_add(1, Ordering::SeqCst);
        let value = request.decode();
        assert_eq!(request.as_bytes(), encode(&value).unwrap(), "the handler got other bytes than the caller's");
        value.0
    })
}

#[test]
fn a_handler_gets_the_bytes_the_caller_encoded() {
    sim::check(&labrpc::target!("a_handler_gets_the_bytes_the_caller_encoded"), Config::default(), || {
        let net = Network::new();
        let runs = Arc::new(AtomicU64::new(0));
        net.add_server("log", node::create("server"), Server::new().with_service(log_service(runs.clone())));
        let end = net.make_end("client", NodeId::MAIN);
        net.connect("client", "log");
        for (n, text) in [(0u64, ""), (127, "x"), (1 << 40, "a longer value \u{1F980}")] {
            let request: Put = (n, text.to_string());
            assert_eq!(end.call::<Put, u64>("Log.Put", &request), Ok(n));
            let encoded = Encoded::new(&request);
            assert_eq!(encoded.as_bytes(), encode(&request).unwrap());
            assert_eq!(encoded.decode(), request);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    });
}

/// Debug builds check every request before the handler gets it: a caller of another type fails
/// its call as with a typed method, naming both.
#[cfg(debug_assertions)]
#[test]
fn a_request_of_another_type_is_named_in_debug_builds() {
    let target = labrpc::sim::Target::from_crate(
        "labrpc",
        "encoded_requests",
        "a_request_of_another_type_is_named_in_debug_builds",
    );
    let knobs = labrpc::sim::Knobs { seed: Some(7), ..labrpc::sim::Knobs::default() };
    let runs = Arc::new(AtomicU64::new(0));
    let handler_runs = runs.clone();
    let failure = sim::check_with(&target, Config::default(), &knobs, move || {
        let net = Network::new();
        net.add_server("log", node::create("server"), Server::new().with_service(log_service(handler_runs.clone())));
        let end = net.make_end("client", NodeId::MAIN);
        net.connect("client", "log");
        let _ = end.call::<String, u64>("Log.Put", &"not a put".to_string());
    })
    .expect_err("a request of another type fails the run");
    let message = failure.to_string();
    assert!(message.contains("cannot decode the request as (u64, alloc::string::String)"), "{message}");
    assert!(message.contains("disagree on the argument type"), "{message}");
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the handler never ran");
}

/// Over TCP the callers are other processes: every request is checked, and a bad one fails its
/// caller only.
#[test]
fn over_tcp_a_request_of_another_type_fails_its_caller_only() {
    let config = TcpConfig::default();
    let runs = Arc::new(AtomicU64::new(0));
    let server = TcpServer::bind("127.0.0.1:0", Server::new().with_service(log_service(runs.clone())), config.clone())
        .expect("bind on loopback");
    let end = tcp::connect(&server.local_addr().to_string(), config);
    let bad = end.clone();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        bad.call::<String, u64>("Log.Put", &"not a put".to_string())
    }))
    .expect_err("a request of another type fails its call");
    let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("cannot decode the request as (u64, alloc::string::String)"), "{message}");
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the handler never ran");
    assert_eq!(end.call::<Put, u64>("Log.Put", &(5, "v".to_string())), Ok(5), "the server still serves");
}
