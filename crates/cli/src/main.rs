//! `berth`, the docker-compatible command line. Everything it does lives in the
//! `berth-cli` library (parsing, commands, output); this only hands it the arguments and
//! exits with the code it returns.

fn main() {
    std::process::exit(berth_cli::run(std::env::args_os()));
}
