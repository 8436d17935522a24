//! The reference kvsrv and its lock as the harness drives them (`labapi::{KvsrvServer,
//! KvsrvClerk, KvLock}`), over their inherent methods.

use labrpc::net::{ClientEnd, Service};

use super::{Clerk, KvClient, KvServer, Lock};

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

impl<C: KvClient + Send + 'static> labapi::KvLock<C> for Lock<C> {
    fn new(clerk: C, key: &str) -> Lock<C> {
        Lock::new(clerk, key)
    }

    fn acquire(&mut self) {
        Lock::acquire(self)
    }

    fn release(&mut self) {
        Lock::release(self)
    }
}
