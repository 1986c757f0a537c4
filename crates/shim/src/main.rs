//! berth-shim: the per-container supervisor berthd spawns for every container (see the
//! library's documentation for what it owns and the protocol it speaks).
fn main() {
    std::process::exit(berth_shim::main())
}
