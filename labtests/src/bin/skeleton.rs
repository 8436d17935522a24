//! The student skeleton; see `labtests::skeleton` and `scripts/skeleton`.

fn main() -> std::process::ExitCode {
    labtests::skeleton::check::main()
}
