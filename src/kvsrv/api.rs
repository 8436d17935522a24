//! The reference kvsrv as the harness drives it (`labapi::{KvsrvServer, KvsrvClerk}`), over its
//! inherent methods.

use labrpc::net::{ClientEnd, Service};

use super::{Clerk, KvServer};

impl labapi::KvsrvServer for KvServer {
    fn new() -> KvServer {
        KvServer::new()
    }

    fn service(&self) -> Service {
        KvServer::service(self)
    }
}

impl labapi::KvsrvClerk for Clerk {
    fn new(server: ClientEnd) -> Clerk {
        Clerk::new(server)
    }
}
