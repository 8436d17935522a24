//! Servers and services: handlers registered by method name, called with postcard-encoded bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::encoded::Encoded;
use crate::sched::try_current;

/// A handler takes the request's bytes (its copy: the last copy of a call owns the caller's).
type Handler = Arc<dyn Fn(Vec<u8>) -> Result<Vec<u8>, String> + Send + Sync>;

/// A handler and the name of the threads that run it ("rpc Service.Method"), made once at
/// registration so a call formats no name.
#[derive(Clone)]
pub(crate) struct Method {
    pub(crate) handler: Handler,
    pub(crate) thread_name: Arc<str>,
}

/// Messages are postcard's bytes in a buffer of exactly their size (`encode.rs`).
use super::encode::encode_exact;

/// Decodes a whole message (`decode.rs`): trailing bytes mean the two sides disagree on the
/// type, which postcard alone would not notice.
pub(crate) fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match super::decode::take::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!("{} bytes left over after decoding", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

/// A request decoded for its handler, or why not (the call fails with it).
fn decode_request<A: DeserializeOwned>(bytes: &[u8]) -> Result<A, String> {
    decode_exact(bytes).map_err(|e| {
        format!(
            "cannot decode the request as {}: {e} (caller and handler disagree on the argument type)",
            std::any::type_name::<A>()
        )
    })
}

/// A named group of RPC handlers, called as "Service.Method".
pub struct Service {
    name: String,
    methods: BTreeMap<String, Method>,
}

impl Service {
    pub fn new(name: &str) -> Service {
        assert!(!name.contains('.'), "labrpc: service name {name:?} must not contain '.'");
        Service { name: name.to_string(), methods: BTreeMap::new() }
    }

    /// Registers `handler` as `method`. Each incoming request runs it in a new thread of the
    /// server's node.
    pub fn method<A, R, F>(self, method: &str, handler: F) -> Service
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        self.register(method, move |bytes: Vec<u8>| {
            let args: A = decode_request(&bytes)?;
            Ok(handler(args))
        })
    }

    /// Registers `handler` as `method`, handed its request as the bytes it arrived in
    /// ([`Encoded`]): for a handler that passes its request on whole (a kvraft server puts it
    /// in its log as it is), where decoding it only to encode the same bytes again was work for
    /// nothing. The request is checked to decode as an `A` where that cannot be taken for
    /// granted: in debug builds (all tests), and on any network whose callers are not the
    /// simulation's own threads (TCP), where a bad request fails its call as with `method`.
    /// A release build of a simulation trusts its callers, which encode their `A` with labrpc:
    /// a caller of another type is then found where the bytes are decoded (`Encoded::decode`).
    pub fn method_encoded<A, R, F>(self, method: &str, handler: F) -> Service
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(Encoded<A>) -> R + Send + Sync + 'static,
    {
        self.register(method, move |bytes: Vec<u8>| {
            if cfg!(debug_assertions) || try_current().is_none() {
                decode_request::<A>(&bytes)?;
            }
            Ok(handler(Encoded::trusted(bytes)))
        })
    }

    /// Registers a handler of request bytes whose `R` goes back encoded.
    fn register<R: Serialize>(
        mut self,
        method: &str,
        handler: impl Fn(Vec<u8>) -> Result<R, String> + Send + Sync + 'static,
    ) -> Service {
        let full = format!("{}.{method}", self.name);
        let handler: Handler = Arc::new(move |bytes: Vec<u8>| {
            let reply = handler(bytes)?;
            let mut bytes = Vec::new();
            match encode_exact(&reply, &mut bytes) {
                Ok(()) => Ok(bytes),
                Err(e) => Err(format!("cannot encode the reply {}: {e}", std::any::type_name::<R>())),
            }
        });
        let thread_name: Arc<str> = Arc::from(format!("rpc {full}"));
        let previous = self.methods.insert(method.to_string(), Method { handler, thread_name });
        assert!(previous.is_none(), "labrpc: method {full} registered twice");
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A set of services, added to a network under a server name.
#[derive(Default)]
pub struct Server {
    services: BTreeMap<String, Service>,
    /// Every method by its full name ("Service.Method"), for the lookup at every call: a server
    /// has a handful of methods, so comparing full names (lengths first) is cheaper than
    /// splitting the name and searching two maps.
    by_name: Vec<(Box<str>, Method)>,
}

impl Server {
    pub fn new() -> Server {
        Server::default()
    }

    pub fn add_service(&mut self, service: Service) {
        let name = service.name.clone();
        for (method, found) in &service.methods {
            self.by_name.push((format!("{name}.{method}").into_boxed_str(), found.clone()));
        }
        let previous = self.services.insert(name.clone(), service);
        assert!(previous.is_none(), "labrpc: service {name} added twice to one server");
    }

    pub fn with_service(mut self, service: Service) -> Server {
        self.add_service(service);
        self
    }

    /// The handler of `method` ("Service.Method") and the name of the threads that run it.
    pub(crate) fn handler(&self, method: &str) -> Result<(Handler, Arc<str>), String> {
        let m = self.method_at(self.method_index(method)?);
        Ok((m.handler.clone(), m.thread_name.clone()))
    }

    /// Where `method` ("Service.Method") is among this server's methods: a call looks it up once
    /// and its handler copies reach the method by this index, cloning no handler.
    pub(crate) fn method_index(&self, method: &str) -> Result<usize, String> {
        match self.by_name.iter().position(|(name, _)| **name == *method) {
            Some(index) => Ok(index),
            None => Err(self.unknown(method)),
        }
    }

    /// The method `method_index` found.
    pub(crate) fn method_at(&self, index: usize) -> &Method {
        &self.by_name[index].1
    }

    #[cold]
    fn unknown(&self, method: &str) -> String {
        let known: Vec<String> =
            self.services.values().flat_map(|s| s.methods.keys().map(move |m| format!("{}.{m}", s.name))).collect();
        format!("unknown method {method:?} (known: {})", known.join(", "))
    }
}
