//! A message kept as the bytes it arrived in: for a handler that only forwards its request (into
//! a log, to another server), decoding it and encoding it again would rebuild the same bytes.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Postcard's bytes of an `A` (the same bytes `encode` gives), not decoded. A handler registered
/// with [`Service::method_encoded`](super::Service::method_encoded) receives its request so.
pub struct Encoded<A> {
    bytes: Vec<u8>,
    /// `fn() -> A`: an `Encoded<A>` holds no `A`, so it is `Send` and `Sync` whatever `A` is.
    of: PhantomData<fn() -> A>,
}

impl<A> Encoded<A> {
    /// Bytes the caller vouches are an encoded `A` (labrpc checked them, or made them).
    pub(crate) fn trusted(bytes: Vec<u8>) -> Encoded<A> {
        Encoded { bytes, of: PhantomData }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl<A: Serialize> Encoded<A> {
    /// `value`'s bytes at their exact size ([`encode`](super::encode)).
    pub fn new(value: &A) -> Encoded<A> {
        match super::encode(value) {
            Ok(bytes) => Encoded::trusted(bytes),
            Err(e) => panic!("labrpc: cannot encode {}: {e}", std::any::type_name::<A>()),
        }
    }
}

impl<A: DeserializeOwned> Encoded<A> {
    /// The value. Bytes that are not an `A` (whole: nothing left over) fail the thread with both
    /// the error and the type: a handler's request is checked when it arrives unless the
    /// network trusts its callers (see `Service::method_encoded`).
    pub fn decode(&self) -> A {
        super::service::decode_exact(&self.bytes).unwrap_or_else(|e| {
            panic!("labrpc: cannot decode {} bytes as {}: {e}", self.bytes.len(), std::any::type_name::<A>())
        })
    }
}

impl<A> Clone for Encoded<A> {
    fn clone(&self) -> Self {
        Encoded::trusted(self.bytes.clone())
    }
}

impl<A> fmt::Debug for Encoded<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Encoded<{}>({} bytes)", std::any::type_name::<A>(), self.bytes.len())
    }
}
