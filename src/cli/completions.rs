//! `quilt completions SHELL`: a completion script for the shell, generated from the argument
//! definitions so it never falls behind them.

use clap::CommandFactory as _;
use clap_complete::Shell;

use super::{Cli, Ctx};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt completions bash > ~/.local/share/bash-completion/completions/quilt
  quilt completions zsh > ~/.zfunc/_quilt        (with fpath+=~/.zfunc in ~/.zshrc)
  quilt completions fish > ~/.config/fish/completions/quilt.fish")]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

pub fn run(args: Args, _ctx: &Ctx) -> anyhow::Result<()> {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "quilt", &mut std::io::stdout());
    Ok(())
}
