//! The sweep runner over the lab's scenario table; see `labtests::dstest` and `scripts/dstest`.

fn main() -> std::process::ExitCode {
    labtests::dstest::main(labtests::dstest::cases())
}
