//! The parsed Dockerfile: stages of instructions, words kept as written.
//!
//! Nothing here is expanded: `$VAR` and quotes stay in the words of the instructions
//! where Docker expands them (ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR
//! ARG, and ONBUILD's trigger when it runs), because their values depend on the ARG and ENV
//! in effect at that step, which only the executor knows. [`crate::dockerfile::expand`]
//! does quote removal and expansion then.

/// Where an instruction (or an error) is: 1-based line and column in the Dockerfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// A whole Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The escape character from `# escape=` (`\` unless set).
    pub escape: char,
    /// The `# syntax=` directive, recorded (berth has one frontend and ignores it).
    pub syntax: Option<String>,
    /// `ARG`s before the first `FROM`: usable only in `FROM` lines (and re-declared inside
    /// a stage with `ARG NAME` to be seen there).
    pub global_args: Vec<ArgDecl>,
    pub stages: Vec<Stage>,
}

/// One `FROM … [AS name]` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The image (or earlier stage, or `scratch`), unexpanded (`FROM ${BASE}`).
    pub base: String,
    /// `AS name`, lower-cased as Docker does.
    pub name: Option<String>,
    /// `--platform=…`, unexpanded.
    pub platform: Option<String>,
    pub location: Location,
    /// The `FROM` line as written (after joining continuations), for logs.
    pub original: String,
    pub instructions: Vec<Instruction>,
}

/// One instruction of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub location: Location,
    /// The instruction as written, continuations joined into one line, heredoc bodies
    /// left out (`RUN <<EOF`): what `Step N/M :` prints.
    pub original: String,
    pub kind: Kind,
}

/// A command of RUN, CMD, ENTRYPOINT or HEALTHCHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `["a", "b"]`: run as is.
    Exec(Vec<String>),
    /// `a b`: given to the SHELL (`/bin/sh -c` by default), not expanded by the builder.
    Shell(String),
}

/// A heredoc attached to RUN or COPY/ADD: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word (`EOF`), which is also the file name for COPY.
    pub name: String,
    /// The body, with a trailing newline after its last line.
    pub content: String,
    /// Unquoted delimiter: `$VAR` in the body is expanded (for COPY; RUN's shell does it).
    pub expand: bool,
    /// `<<-`: leading tabs were stripped from each line of `content`.
    pub strip_tabs: bool,
}

/// `ARG NAME[=default]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    /// Unexpanded default, quotes kept.
    pub default: Option<String>,
}

/// `--mount=…` of RUN, as key=value options (`type=cache,target=/root/.cache`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunMount {
    /// `bind` (the default), `cache`, `tmpfs`, `secret`, `ssh`.
    pub kind: String,
    /// Every other option in order, keys lower-cased (`target`, `source`, `from`, `id`,
    /// `readonly`/`ro`, `rw`, `size`, `sharing`, `mode`, `uid`, `gid`, `required`).
    /// A bare flag (`readonly`) has an empty value.
    pub options: Vec<(String, String)>,
}

/// ADD and COPY's arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyArgs {
    /// Sources, unexpanded; for the JSON form, the decoded strings. A heredoc source
    /// (`COPY <<EOF /dest`) is named here by its delimiter and found in `heredocs`.
    pub sources: Vec<String>,
    pub dest: String,
    /// `--from=stage|image|index`.
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    /// `--parents`.
    pub parents: bool,
    /// `--exclude=pattern`, repeatable.
    pub exclude: Vec<String>,
    /// ADD `--checksum=sha256:…`.
    pub checksum: Option<String>,
    /// ADD `--keep-git-dir`.
    pub keep_git_dir: bool,
    pub heredocs: Vec<Heredoc>,
}

/// HEALTHCHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disables the base image's check.
    None,
    Check {
        test: Command,
        /// Durations as written (`30s`, `1m30s`), validated by the parser.
        interval: Option<String>,
        timeout: Option<String>,
        start_period: Option<String>,
        start_interval: Option<String>,
        retries: Option<u32>,
    },
}

/// The instructions of a stage (FROM starts a [`Stage`] and is not one of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Run {
        command: Command,
        mounts: Vec<RunMount>,
        /// `--network=default|none|host`.
        network: Option<String>,
        /// `--security=insecure|sandbox`.
        security: Option<String>,
        heredocs: Vec<Heredoc>,
    },
    Cmd(Command),
    Entrypoint(Command),
    /// `SHELL ["executable", "params"]` (JSON form only).
    Shell(Vec<String>),
    /// Key/value pairs, unexpanded, quotes kept (`"my key"="a value"`). The old one-pair
    /// form `ENV KEY some value` gives one pair whose value is the rest of the line.
    Env(Vec<(String, String)>),
    Label(Vec<(String, String)>),
    /// Words unexpanded (`80/tcp`, `$PORT`).
    Expose(Vec<String>),
    /// Paths; from the JSON form or space-separated words, unexpanded.
    Volume(Vec<String>),
    User(String),
    Workdir(String),
    Arg(Vec<ArgDecl>),
    StopSignal(String),
    Healthcheck(Healthcheck),
    /// The trigger instruction as written (`RUN make`), parsed again when a child image
    /// is built FROM this one; the parser checks it is not ONBUILD, FROM or MAINTAINER.
    Onbuild(String),
    Maintainer(String),
    Copy(CopyArgs),
    Add(CopyArgs),
}

impl Kind {
    /// The instruction's keyword as Docker writes it (`RUN`, `COPY`, …).
    pub fn keyword(&self) -> &'static str {
        match self {
            Kind::Run { .. } => "RUN",
            Kind::Cmd(_) => "CMD",
            Kind::Entrypoint(_) => "ENTRYPOINT",
            Kind::Shell(_) => "SHELL",
            Kind::Env(_) => "ENV",
            Kind::Label(_) => "LABEL",
            Kind::Expose(_) => "EXPOSE",
            Kind::Volume(_) => "VOLUME",
            Kind::User(_) => "USER",
            Kind::Workdir(_) => "WORKDIR",
            Kind::Arg(_) => "ARG",
            Kind::StopSignal(_) => "STOPSIGNAL",
            Kind::Healthcheck(_) => "HEALTHCHECK",
            Kind::Onbuild(_) => "ONBUILD",
            Kind::Maintainer(_) => "MAINTAINER",
            Kind::Copy(_) => "COPY",
            Kind::Add(_) => "ADD",
        }
    }
}
