//! One RPC with a deadline, for the clerks and the groups' migration threads: the call runs in a
//! thread of its own (which finishes on its own if abandoned), so a paused or far server costs
//! the caller at most `timeout`. The request is shared with that thread (`Arc`), not copied for
//! every attempt: a retried request is the same request. The end and the thread's name may be
//! shared too ([`Replicas`](super::Replicas) keeps its ends in `Arc`s, kvraft's clerk the name of
//! its call threads): cloning a `ClientEnd` copies its name, and a `&str` name is copied into
//! every thread.

use std::borrow::Borrow;
use std::sync::Arc;
use std::time::Duration;

use labrpc::net::ClientEnd;
use labrpc::{channel, thread};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Calls `method` on `end` from a thread named "call"; None when there is no answer within
/// `timeout`.
pub fn call_within<Req, Rep>(
    end: &ClientEnd,
    method: &'static str,
    request: &Arc<Req>,
    timeout: Duration,
) -> Option<Rep>
where
    Req: Serialize + Send + Sync + 'static,
    Rep: DeserializeOwned + Send + 'static,
{
    call_named("call", end, method, request, timeout)
}

/// [`call_within`] from a thread named `thread` (as traces and failure reports show it).
pub fn call_named<E, Req, Rep>(
    thread: impl Into<Arc<str>>,
    end: &E,
    method: &'static str,
    request: &Arc<Req>,
    timeout: Duration,
) -> Option<Rep>
where
    E: Borrow<ClientEnd> + Clone + Send + 'static,
    Req: Serialize + Send + Sync + 'static,
    Rep: DeserializeOwned + Send + 'static,
{
    let (tx, rx) = channel::bounded(1);
    let (end, request) = (end.clone(), Arc::clone(request));
    // Nobody joins the call thread (after a timeout it still runs, its reply dropped): detached,
    // an optimisation over `spawn`, which would also build a join cell for nobody.
    thread::Builder::new().name(thread).spawn_detached(move || {
        let _ = tx.send(end.borrow().call::<Req, Rep>(method, &*request));
    });
    rx.recv_timeout(timeout).ok().and_then(Result::ok)
}
