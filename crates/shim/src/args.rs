//! The command line (the daemon relies on exactly this shape, see the crate docs).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// Default `--log-max-size`: Docker's json-file default of 20 MiB.
pub const DEFAULT_LOG_MAX_SIZE: u64 = 20 * 1024 * 1024;
/// Default `--log-max-files`.
pub const DEFAULT_LOG_MAX_FILES: u32 = 5;

/// The parsed command line; every path is absolute (the shim changes into `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub id: String,
    pub bundle: PathBuf,
    pub state: PathBuf,
    /// Absolute if given with a `/`, else a name looked up in `PATH`.
    pub runtime: PathBuf,
    pub runtime_root: PathBuf,
    pub log: Option<PathBuf>,
    pub log_max_size: u64,
    pub log_max_files: u32,
    pub tty: bool,
    pub stdin: bool,
    pub stdin_once: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    Missing(&'static str),
    MissingValue(String),
    BadValue { flag: String, value: String },
    Unknown(String),
    Path { path: PathBuf, reason: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Missing(flag) => write!(f, "missing required option {flag}"),
            Error::MissingValue(flag) => write!(f, "option {flag} needs a value"),
            Error::BadValue { flag, value } => write!(f, "invalid value {value:?} for {flag}"),
            Error::Unknown(arg) => write!(f, "unknown argument {arg:?}"),
            Error::Path { path, reason } => write!(f, "resolve path {}: {reason}", path.display()),
        }
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Args, Error> {
    let mut id = None;
    let mut bundle = None;
    let mut state = None;
    let mut runtime = None;
    let mut runtime_root = None;
    let mut log = None;
    let mut log_max_size = DEFAULT_LOG_MAX_SIZE;
    let mut log_max_files = DEFAULT_LOG_MAX_FILES;
    let (mut tty, mut stdin, mut stdin_once) = (false, false, false);

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy().into_owned();
        // `--flag=value` or `--flag value`
        let (flag, inline) = match text.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(OsString::from(v))),
            _ => (text.clone(), None),
        };
        let mut value = |name: &str| -> Result<OsString, Error> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args
                    .next()
                    .ok_or_else(|| Error::MissingValue(name.to_owned())),
            }
        };
        match flag.as_str() {
            "--id" => id = Some(value(&flag)?.to_string_lossy().into_owned()),
            "--bundle" => bundle = Some(PathBuf::from(value(&flag)?)),
            "--state" => state = Some(PathBuf::from(value(&flag)?)),
            "--runtime" => runtime = Some(PathBuf::from(value(&flag)?)),
            "--runtime-root" => runtime_root = Some(PathBuf::from(value(&flag)?)),
            "--log" => log = Some(PathBuf::from(value(&flag)?)),
            "--log-max-size" => log_max_size = number(&flag, value(&flag)?)?,
            "--log-max-files" => log_max_files = number(&flag, value(&flag)?)?,
            "--tty" | "--stdin" | "--stdin-once" if inline.is_some() => {
                return Err(Error::Unknown(text))
            }
            "--tty" => tty = true,
            "--stdin" => stdin = true,
            "--stdin-once" => stdin_once = true,
            _ => return Err(Error::Unknown(text)),
        }
    }

    let id = id.ok_or(Error::Missing("--id"))?;
    if id.is_empty() || id.contains('/') || id.contains('\n') {
        return Err(Error::BadValue {
            flag: "--id".into(),
            value: id,
        });
    }
    if log_max_size == 0 {
        return Err(Error::BadValue {
            flag: "--log-max-size".into(),
            value: "0".into(),
        });
    }
    if log_max_files == 0 {
        return Err(Error::BadValue {
            flag: "--log-max-files".into(),
            value: "0".into(),
        });
    }
    let runtime = runtime.ok_or(Error::Missing("--runtime"))?;
    let runtime = if runtime.as_os_str().to_string_lossy().contains('/') {
        absolute(&runtime)?
    } else {
        runtime
    };
    Ok(Args {
        id,
        bundle: absolute(&bundle.ok_or(Error::Missing("--bundle"))?)?,
        state: absolute(&state.ok_or(Error::Missing("--state"))?)?,
        runtime,
        runtime_root: absolute(&runtime_root.ok_or(Error::Missing("--runtime-root"))?)?,
        log: log.as_deref().map(absolute).transpose()?,
        log_max_size,
        log_max_files,
        tty,
        stdin,
        stdin_once,
    })
}

fn number<T: std::str::FromStr>(flag: &str, value: OsString) -> Result<T, Error> {
    let text = value.to_string_lossy();
    text.parse().map_err(|_| Error::BadValue {
        flag: flag.to_owned(),
        value: text.into_owned(),
    })
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::Path {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Args, Error> {
        parse(args.iter().map(OsString::from))
    }

    const REQUIRED: [&str; 10] = [
        "--id",
        "c1",
        "--bundle",
        "/b",
        "--state",
        "/s",
        "--runtime",
        "runc",
        "--runtime-root",
        "/r",
    ];

    #[test]
    fn required_options_and_defaults() {
        let a = parse_str(&REQUIRED).unwrap();
        assert_eq!(a.id, "c1");
        assert_eq!(a.bundle, Path::new("/b"));
        assert_eq!(a.runtime, Path::new("runc"));
        assert_eq!(a.log, None);
        assert_eq!(a.log_max_size, 20_971_520);
        assert_eq!(a.log_max_files, 5);
        assert!(!a.tty && !a.stdin && !a.stdin_once);
    }

    #[test]
    fn every_option() {
        let mut args = REQUIRED.to_vec();
        args.extend([
            "--log",
            "/l/c.log",
            "--log-max-size=100",
            "--log-max-files",
            "3",
            "--tty",
            "--stdin",
            "--stdin-once",
        ]);
        let a = parse_str(&args).unwrap();
        assert_eq!(a.log.as_deref(), Some(Path::new("/l/c.log")));
        assert_eq!((a.log_max_size, a.log_max_files), (100, 3));
        assert!(a.tty && a.stdin && a.stdin_once);
    }

    #[test]
    fn relative_paths_become_absolute() {
        let a = parse_str(&[
            "--id",
            "c",
            "--bundle",
            "b",
            "--state",
            "s",
            "--runtime",
            "./rt",
            "--runtime-root",
            "r",
        ])
        .unwrap();
        assert!(a.bundle.is_absolute() && a.state.is_absolute() && a.runtime.is_absolute());
    }

    #[test]
    fn errors() {
        assert_eq!(parse_str(&REQUIRED[2..]), Err(Error::Missing("--id")));
        assert_eq!(
            parse_str(&["--id"]),
            Err(Error::MissingValue("--id".into()))
        );
        let mut bad = REQUIRED.to_vec();
        bad.extend(["--log-max-size", "x"]);
        assert!(matches!(parse_str(&bad), Err(Error::BadValue { .. })));
        let mut unknown = REQUIRED.to_vec();
        unknown.push("--detach");
        assert_eq!(parse_str(&unknown), Err(Error::Unknown("--detach".into())));
    }
}
