//! The reference kvraft as the harness drives it (`labapi::{KvraftServer, KvraftClerk}`), over
//! its inherent methods.

use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;

use super::{Clerk, KvServer};
use crate::raft::Raft;

impl labapi::KvraftServer for KvServer {
    type Raft = Raft;

    fn start(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: Option<usize>) -> KvServer {
        KvServer::start(peers, me, persister, maxraftstate)
    }

    fn raft(&self) -> &Raft {
        KvServer::raft(self)
    }

    fn service(&self) -> Service {
        KvServer::service(self)
    }
}

impl labapi::KvraftClerk for Clerk {
    fn new(servers: Vec<ClientEnd>) -> Clerk {
        Clerk::new(servers)
    }
}
