//! The `quilt` command line. All printing and argument parsing lives here; the work is done
//! by the `quilt` library.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
