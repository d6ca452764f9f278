//! The `edgehook` command line; see [`edgehook::cli`]. Native only: the Worker is the
//! library's wasm build, which this binary does not touch.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    edgehook::cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
