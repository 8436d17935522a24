//! The mutant zoo's runner; see `labtests::mutants` and `scripts/mutants`.
fn main() -> std::process::ExitCode {
    labtests::mutants::main()
}
