//! Argument parsing and dispatch.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, LazyLock};

use signal_hook::consts::{SIGINT, SIGPIPE};

use clap::{Parser, Subcommand};

mod build;
mod checkout;
mod completions;
mod config;
mod delete;
mod diff;
mod init;
mod log;
mod ls;
mod maintenance;
mod meta;
mod output;
mod progress;
mod remote;
mod status;
mod transfer;
mod written;

pub use output::Ctx;

/// quilt: version, deduplicate and sync datasets the way git versions code.
#[derive(Debug, Parser)]
#[command(
    name = "quilt",
    version,
    about,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// Never draw progress bars or progress lines.
    #[arg(long, global = true)]
    no_progress: bool,
    /// Print only errors and the essential result.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// More logging on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Run as if started in DIR.
    #[arg(short = 'C', long = "dir", global = true, value_name = "DIR")]
    cwd: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a .quilt store in this directory (or use a shared store).
    Init(init::Args),
    /// Hash a directory, store its contents and record a new package version.
    Build(build::Args),
    /// Show what changed since the last build or checkout.
    Status(status::Args),
    /// Show the versions of a package, newest first.
    Log(log::LogArgs),
    /// List packages.
    List(log::ListArgs),
    /// List the files of a package version.
    Ls(ls::Args),
    /// Show the metadata of a version, or of one of its files.
    Meta(meta::Args),
    /// Show what changed between two versions (or a version and the working directory).
    Diff(diff::Args),
    /// Switch the working directory to a version.
    Checkout(checkout::CheckoutArgs),
    /// Write a version's files into a directory.
    Install(checkout::InstallArgs),
    /// Remove a package or one version of it (data stays until `quilt gc`).
    Delete(delete::Args),
    /// Remove objects and manifests no version references.
    Gc(maintenance::GcArgs),
    /// Re-hash every object and check every version is complete.
    Verify(maintenance::VerifyArgs),
    /// Manage remotes.
    #[command(subcommand)]
    Remote(remote::Command),
    /// Send a package version and the objects the remote lacks.
    Push(transfer::PushArgs),
    /// Fetch a version from a remote and check it out.
    Pull(transfer::PullArgs),
    /// Fetch a version from a remote into the local store only.
    Fetch(transfer::FetchArgs),
    /// Show or change the user's settings (the default remote for every directory).
    Config(config::Args),
    /// Print a shell completion script (bash, zsh or fish).
    Completions(completions::Args),
}

/// Set by the first Ctrl-C; long operations stop at their next check. A second Ctrl-C exits
/// with 130 at once (every write is atomic, so that is safe, only slower to resume).
static INTERRUPTED: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

fn install_signal_handlers() {
    // A closed pipe (`quilt ls | head`) ends the process quietly, by SIGPIPE's default action,
    // instead of a "Broken pipe" panic from `println!` (Rust starts with SIGPIPE ignored).
    let always = Arc::new(AtomicBool::new(true));
    if let Err(e) = signal_hook::flag::register_conditional_default(SIGPIPE, always) {
        tracing::warn!("SIGPIPE handling not installed: {e}");
    }
    let flag = Arc::clone(&INTERRUPTED);
    // The shutdown hook runs before the flag is set, so it fires on the second Ctrl-C only.
    let registered = signal_hook::flag::register_conditional_shutdown(SIGINT, 130, flag.clone())
        .and_then(|_| signal_hook::flag::register(SIGINT, flag));
    if let Err(e) = registered {
        tracing::warn!("Ctrl-C handling not installed: {e}");
    }
}

/// Remote options from the environment, wired to Ctrl-C.
pub(crate) fn remote_options() -> quilt::sync::RemoteOptions {
    quilt::sync::RemoteOptions::from_env().with_interrupt(Arc::clone(&INTERRUPTED))
}

/// `--layout`'s values.
pub(crate) fn parse_layout(s: &str) -> Result<quilt::sync::RemoteLayout, String> {
    s.parse()
}

/// Bytes per pack on a packed remote: `QUILT_PACK_TARGET_BYTES` (for measuring), else the
/// library's default.
pub(crate) fn pack_target() -> u64 {
    std::env::var("QUILT_PACK_TARGET_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Lock timing on a packed remote: locks stale after `QUILT_REMOTE_LOCK_STALE_SECS` seconds
/// when set, else the library's default (30 minutes).
pub(crate) fn lock_options() -> quilt::sync::LockOptions {
    std::env::var("QUILT_REMOTE_LOCK_STALE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or_else(
            quilt::sync::LockOptions::default,
            quilt::sync::LockOptions::stale_after,
        )
}

/// Parses arguments, runs the command and returns the process exit code:
/// 0 success, 1 failure, 2 usage error, 130 interrupted.
pub fn run() -> i32 {
    install_signal_handlers();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return output::usage_error(&e),
    };
    init_logging(cli.verbose, cli.quiet);
    let show_progress = !cli.no_progress && !cli.quiet && !cli.json;
    let ctx = Ctx {
        json: cli.json,
        quiet: cli.quiet,
        progress: show_progress,
        tty: std::io::stderr().is_terminal(),
        cwd: cli.cwd.clone().unwrap_or_else(|| PathBuf::from(".")),
        interrupt: &INTERRUPTED,
    };
    match output::check_cwd(cli.cwd.as_deref()).and_then(|()| dispatch(cli.command, &ctx)) {
        Ok(()) => 0,
        Err(e) => output::report_error(&ctx, &e),
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUILT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::stderr_above_bars)
        .without_time()
        .with_target(false)
        .try_init();
}

fn dispatch(command: Command, ctx: &Ctx) -> anyhow::Result<()> {
    match command {
        Command::Init(a) => init::run(a, ctx),
        Command::Build(a) => build::run(a, ctx),
        Command::Status(a) => status::run(a, ctx),
        Command::Log(a) => log::run_log(a, ctx),
        Command::List(a) => log::run_list(a, ctx),
        Command::Ls(a) => ls::run(a, ctx),
        Command::Diff(a) => diff::run(a, ctx),
        Command::Meta(a) => meta::run(a, ctx),
        Command::Checkout(a) => checkout::run_checkout(a, ctx),
        Command::Install(a) => checkout::run_install(a, ctx),
        Command::Delete(a) => delete::run(a, ctx),
        Command::Gc(a) => maintenance::run_gc(a, ctx),
        Command::Verify(a) => maintenance::run_verify(a, ctx),
        Command::Remote(c) => remote::run(c, ctx),
        Command::Push(a) => transfer::run_push(a, ctx),
        Command::Pull(a) => transfer::run_pull(a, ctx),
        Command::Fetch(a) => transfer::run_fetch(a, ctx),
        Command::Config(a) => config::run(a, ctx),
        Command::Completions(a) => completions::run(a, ctx),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn argument_definitions_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
