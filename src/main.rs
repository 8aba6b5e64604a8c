//! The `quilt` command line. All printing and argument parsing lives here; the work is done
//! by the `quilt` library.

#![forbid(unsafe_code)]

mod cli;

// Building and checking a tree allocates many small strings on several threads at once;
// mimalloc's per-thread heaps serve that far better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::run());
}
