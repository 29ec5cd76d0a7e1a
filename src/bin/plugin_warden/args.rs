//! A small, strict argv parser: `--name value`, `--name=value`, boolean `--flag`, `--` to end
//! options, and positionals. Unknown or repeated options are usage errors.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::CliError;

/// What one subcommand accepts.
pub struct Spec {
    /// Options that take a value (`--key`), without the dashes.
    pub options: &'static [&'static str],
    /// Boolean flags (`--json`), without the dashes.
    pub flags: &'static [&'static str],
}

/// Parsed arguments of one subcommand.
#[derive(Debug, Default)]
pub struct Args {
    /// Positional arguments, in order.
    pub positionals: Vec<OsString>,
    values: BTreeMap<&'static str, OsString>,
    flags: Vec<&'static str>,
    /// Whether `-h`/`--help` was given.
    pub help: bool,
}

impl Args {
    /// Parse `argv` (without the program and subcommand names).
    ///
    /// # Errors
    /// [`CliError::Usage`] for an unknown or repeated option, a missing value, a value given to
    /// a flag, or an option that is not UTF-8.
    pub fn parse(argv: impl IntoIterator<Item = OsString>, spec: &Spec) -> Result<Args, CliError> {
        let mut args = Args::default();
        let mut argv = argv.into_iter();
        let mut only_positionals = false;
        while let Some(arg) = argv.next() {
            if only_positionals {
                args.positionals.push(arg);
                continue;
            }
            let Some(text) = arg.to_str() else {
                // Not UTF-8: it can only be a positional (a path).
                args.positionals.push(arg);
                continue;
            };
            if text == "--" {
                only_positionals = true;
                continue;
            }
            if text == "-h" || text == "--help" {
                args.help = true;
                continue;
            }
            let Some(option) = text.strip_prefix("--") else {
                if text.starts_with('-') && text.len() > 1 {
                    return Err(CliError::Usage(format!("unknown option {text:?}")));
                }
                args.positionals.push(arg);
                continue;
            };
            let (name, inline) = match option.split_once('=') {
                Some((n, v)) => (n, Some(OsString::from(v))),
                None => (option, None),
            };
            if let Some(&flag) = spec.flags.iter().find(|f| **f == name) {
                if inline.is_some() {
                    return Err(CliError::Usage(format!("--{flag} takes no value")));
                }
                if args.flags.contains(&flag) {
                    return Err(CliError::Usage(format!("--{flag} given twice")));
                }
                args.flags.push(flag);
            } else if let Some(&opt) = spec.options.iter().find(|o| **o == name) {
                let value = match inline {
                    Some(v) => v,
                    None => argv
                        .next()
                        .ok_or_else(|| CliError::Usage(format!("--{opt} needs a value")))?,
                };
                if args.values.insert(opt, value).is_some() {
                    return Err(CliError::Usage(format!("--{opt} given twice")));
                }
            } else {
                return Err(CliError::Usage(format!("unknown option \"--{name}\"")));
            }
        }
        Ok(args)
    }

    /// The value of `--name`, if given.
    pub fn value(&self, name: &str) -> Option<&OsString> {
        self.values.get(name)
    }

    /// The value of `--name` as UTF-8 text.
    ///
    /// # Errors
    /// [`CliError::Usage`] when it is not UTF-8.
    pub fn text(&self, name: &str) -> Result<Option<&str>, CliError> {
        self.value(name)
            .map(|v| {
                v.to_str()
                    .ok_or_else(|| CliError::Usage(format!("--{name} is not UTF-8")))
            })
            .transpose()
    }

    /// Whether `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    /// Exactly one positional.
    ///
    /// # Errors
    /// [`CliError::Usage`] naming `what` when there are none or several.
    pub fn one_positional(&self, what: &str) -> Result<&OsString, CliError> {
        match self.positionals.as_slice() {
            [one] => Ok(one),
            [] => Err(CliError::Usage(format!("missing {what}"))),
            more => Err(CliError::Usage(format!(
                "expected one {what}, found {} arguments",
                more.len()
            ))),
        }
    }
}
