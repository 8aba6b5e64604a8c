use quilt::user_config::{UserConfig, DEFAULT_REMOTE, SETTINGS};

use quilt::ErrorKind;

use super::output::fail;
use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt config                                      list the settings and where they are kept
  quilt config default-remote s3://my-bucket/registry
  quilt config default-remote                       print one setting
  quilt config --unset default-remote

Settings:
  default-remote   the remote push, install, log --remote and build --registry use when none
                   is named and the working directory has no default remote of its own

The file is config.toml in $QUILT_CONFIG_DIR, else the platform's configuration directory
($XDG_CONFIG_HOME/quilt or ~/.config/quilt on Linux).")]
pub struct Args {
    /// The setting to print or change (default-remote).
    key: Option<String>,
    /// Its new value: for default-remote, s3://bucket[/prefix] or a directory.
    value: Option<String>,
    /// Remove the setting.
    #[arg(long, requires = "key", conflicts_with = "value")]
    unset: bool,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let mut config = UserConfig::load()?;
    let path = config.path().display().to_string();
    let Some(key) = args.key else {
        return list(&config, ctx);
    };
    if args.unset {
        let was = config.unset(&key)?;
        if was {
            config.save()?;
        }
        if ctx.json {
            ctx.print_json(&serde_json::json!({"unset": key, "was_set": was, "file": path}));
        }
        ctx.note(match was {
            true => format!("{key} unset (in {path})"),
            false => format!("{key} was not set (in {path})"),
        });
        return Ok(());
    }
    let Some(value) = args.value else {
        if !SETTINGS.iter().any(|(k, _)| *k == key) && config.get(&key).is_none() {
            config.set(&key, "")?; // the unknown-key error, listing the known ones
        }
        let value = config.get(&key).map(str::to_owned);
        if ctx.json {
            ctx.print_json(&serde_json::json!({"key": key, "value": value, "file": path}));
            return Ok(());
        }
        match value {
            Some(v) => println!("{v}"),
            None => {
                return Err(fail(
                    ErrorKind::NotFound,
                    format!("{key} is not set (in {path}); set it with `quilt config {key} VALUE`"),
                ))
            }
        }
        return Ok(());
    };
    // A default remote that is a directory is made absolute and created if missing, as
    // `quilt remote add` does.
    let value = match key == DEFAULT_REMOTE {
        true => {
            let (url, created) = quilt::user_default_remote_url(&value, &ctx.cwd)?;
            super::remote::note_created(ctx, created.as_deref());
            url
        }
        false => value,
    };
    config.set(&key, &value)?;
    config.save()?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({"set": key, "value": value, "file": path}));
    }
    ctx.note(format!("{key} = {value} (in {path})"));
    Ok(())
}

fn list(config: &UserConfig, ctx: &Ctx) -> anyhow::Result<()> {
    let settings = config.settings();
    let path = config.path().display().to_string();
    if ctx.json {
        let map: serde_json::Map<String, serde_json::Value> = settings
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        ctx.print_json(&serde_json::json!({"file": path, "settings": map}));
        return Ok(());
    }
    if settings.is_empty() {
        ctx.note(format!(
            "no settings (they would be kept in {path}); see `quilt config --help`"
        ));
    }
    for (k, v) in settings {
        println!("{k} = {v}");
    }
    Ok(())
}
