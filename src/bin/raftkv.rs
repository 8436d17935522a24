//! `raftkv`: see `raftkv::cli` (servers, client, local cluster, benchmark).

fn main() -> std::process::ExitCode {
    raftkv::cli::main_with(std::env::args_os())
}
