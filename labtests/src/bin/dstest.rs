//! The sweep runner over the lab's scenario table; see `labtests::dstest` and `scripts/dstest`.

// The lab 2 memory scenarios read the bytes the server's node holds (`labrpc::node::memory`).
labrpc::count_allocations!();

fn main() -> std::process::ExitCode {
    labtests::dstest::main(labtests::dstest::cases())
}
