//! The README's five-minute tour, run as written.
//!
//! The commands come from the first `sh` block under "## A five-minute tour" in README.md; the
//! test holds no copy of them. Each line is run in order: `cd DIR` changes the directory,
//! `quilt …` runs the built binary (with `--no-progress`), anything else runs with `sh -c`;
//! comments are dropped. Three substitutions make the tour runnable here, and each must be
//! used at least once:
//!
//! - `s3://my-bucket/registry` becomes a directory remote `<tmp>/registry`;
//! - `3f1c9a`, the placeholder top-hash prefix, becomes the first 12 hex characters of the top
//!   hash the tour's first `quilt build` prints;
//! - `/tmp/` becomes `<tmp>/`.
//!
//! The tour starts in `<tmp>`, which holds `my-dataset/data/a.csv` and `my-dataset/data/b.csv`.
//! Every command must succeed, and the outcomes the tour's comments promise are checked.

mod common;

use std::path::{Path, PathBuf};

use common::{quilt, top_hash, write};

const REMOTE_URL: &str = "s3://my-bucket/registry";
const HASH_PLACEHOLDER: &str = "3f1c9a";
const A_FIRST: &[u8] = b"id,value\n1,10\n2,20\n";

/// The lines of the tour's code block in README.md.
fn tour_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md is readable");
    let tour = readme
        .split_once("## A five-minute tour")
        .expect("README.md has a tour section")
        .1;
    let block = tour
        .split_once("```sh\n")
        .expect("the tour has an sh block")
        .1
        .split_once("```")
        .expect("the block ends")
        .0;
    block.lines().map(str::to_owned).collect()
}

/// `line` without a trailing `# comment` (a `#` after whitespace, outside quotes).
fn strip_comment(line: &str) -> &str {
    let (mut quote, mut prev_space) = (None, true);
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') if prev_space => return line[..i].trim_end(),
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line.trim_end()
}

struct Tour {
    tmp: PathBuf,
    cwd: PathBuf,
    first: Option<String>,
    second: Option<String>,
    used: [bool; 3],
    checked: Vec<&'static str>,
}

impl Tour {
    fn substitute(&mut self, line: &str) -> String {
        let mut out = line.to_owned();
        let tmp = self.tmp.to_str().expect("utf-8 temp dir").to_owned();
        // `/tmp/` first: the other replacements may themselves contain it.
        if out.contains("/tmp/") {
            self.used[2] = true;
            out = out.replace("/tmp/", &format!("{tmp}/"));
        }
        if out.contains(REMOTE_URL) {
            self.used[0] = true;
            out = out.replace(REMOTE_URL, &format!("{tmp}/registry"));
        }
        if out.contains(HASH_PLACEHOLDER) {
            self.used[1] = true;
            let first = self
                .first
                .as_ref()
                .expect("a hash is used after the first build");
            out = out.replace(HASH_PLACEHOLDER, &first[..12]);
        }
        out
    }

    fn run(&mut self, line: &str) -> String {
        if let Some(dir) = line.strip_prefix("cd ") {
            self.cwd = self.cwd.join(dir.trim());
            assert!(self.cwd.is_dir(), "`{line}`: no such directory");
            return String::new();
        }
        let out = match line.strip_prefix("quilt ") {
            Some(args) => {
                let args = shlex::split(args).expect("the line splits like a shell's");
                quilt(&self.cwd).args(&args).output().expect("run quilt")
            }
            None => std::process::Command::new("sh")
                .arg("-c")
                .arg(line)
                .current_dir(&self.cwd)
                .output()
                .expect("run sh"),
        };
        assert!(
            out.status.success(),
            "README tour line `{line}` failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    fn a_csv(&self) -> Vec<u8> {
        std::fs::read(self.cwd.join("data/a.csv")).expect("data/a.csv")
    }

    /// The outcome the README promises for `line`, checked after it ran.
    fn check(&mut self, line: &str, stdout: &str) {
        let edited: Vec<u8> = [A_FIRST, b"oops\n"].concat();
        let tmp = self.tmp.clone();
        let name = match line {
            l if l.starts_with("quilt status") && self.first.is_none() => {
                assert!(stdout.contains("A data/a.csv"), "{stdout}");
                "status lists new files"
            }
            l if l.starts_with("quilt status") => {
                assert!(stdout.contains("M data/a.csv"), "{stdout}");
                "status shows the edit"
            }
            l if l.starts_with("quilt build") && self.first.is_none() => {
                self.first = Some(top_hash(stdout));
                "first build"
            }
            l if l.starts_with("quilt build") => {
                let second = top_hash(stdout);
                assert_ne!(Some(&second), self.first.as_ref());
                self.second = Some(second);
                "second build"
            }
            l if l.starts_with("quilt log") => {
                for h in [&self.first, &self.second] {
                    assert!(stdout.contains(h.as_deref().expect("built")), "{stdout}");
                }
                "log lists both versions"
            }
            l if l.starts_with("quilt diff") => {
                // Two versions also differ in their message and metadata.
                let lines: Vec<&str> = stdout
                    .lines()
                    .filter(|l| !l.starts_with("package "))
                    .collect();
                assert_eq!(lines, ["M data/a.csv"], "{stdout}");
                "diff"
            }
            l if l.starts_with("quilt ls") => {
                assert!(stdout.contains("data/a.csv") && stdout.contains("data/b.csv"));
                "ls"
            }
            l if l.starts_with("quilt checkout") && l.ends_with("@latest") => {
                assert_eq!(self.a_csv(), edited);
                "checkout latest"
            }
            l if l.starts_with("quilt checkout") => {
                assert_eq!(self.a_csv(), A_FIRST);
                "checkout the first version"
            }
            l if l.starts_with("quilt install") && l.contains("--from") => {
                let got = std::fs::read(tmp.join("data/data/a.csv")).expect("installed");
                assert_eq!(got, edited);
                "install from the remote"
            }
            l if l.starts_with("quilt install") => {
                let got = std::fs::read(tmp.join("copy/data/a.csv")).expect("installed");
                assert_eq!(got, edited);
                "install"
            }
            l if l.starts_with("quilt push") => {
                let reg = tmp.join("registry/.quilt");
                for h in [&self.first, &self.second] {
                    let h = h.as_deref().expect("built");
                    assert!(reg.join("packages").join(h).is_file(), "{h} was not pushed");
                }
                let latest =
                    std::fs::read_to_string(reg.join("named_packages/team/dataset/latest"))
                        .expect("latest on the remote");
                assert_eq!(Some(latest.trim()), self.second.as_deref());
                "push every version"
            }
            l if l.starts_with("quilt pull") => {
                assert_eq!(self.a_csv(), A_FIRST);
                "pull the first version"
            }
            _ => return,
        };
        self.checked.push(name);
    }
}

#[test]
fn the_readme_tour_works_as_written() {
    let t = tempfile::tempdir().expect("tempdir");
    let tmp = t.path().canonicalize().expect("canonical temp dir");
    write(&tmp, "my-dataset/data/a.csv", A_FIRST);
    write(&tmp, "my-dataset/data/b.csv", b"id,name\n1,x\n");
    let mut tour = Tour {
        cwd: tmp.clone(),
        tmp,
        first: None,
        second: None,
        used: [false; 3],
        checked: Vec::new(),
    };
    let mut ran = 0;
    for raw in tour_lines() {
        let line = strip_comment(&raw);
        if line.is_empty() {
            continue;
        }
        let line = tour.substitute(line);
        let stdout = tour.run(&line);
        tour.check(&line, &stdout);
        ran += 1;
    }
    assert!(ran >= 15, "only {ran} commands found in the tour");
    assert_eq!(tour.used, [true; 3], "every substitution is used");
    for promised in [
        "status lists new files",
        "first build",
        "status shows the edit",
        "second build",
        "diff",
        "checkout the first version",
        "install",
        "push every version",
        "pull the first version",
        "install from the remote",
    ] {
        assert!(
            tour.checked.contains(&promised),
            "the tour no longer shows: {promised}"
        );
    }
}
