//! The one error type of this crate: every variant names the operation that failed.

use std::path::PathBuf;

/// Everything that can go wrong while compiling, loading or handing over a seccomp filter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The seccomp object could not be read (JSON syntax or shape).
    #[error("parse seccomp profile")]
    ParseProfile(#[source] serde_json::Error),

    /// An action string that is not one of the `SCMP_ACT_*` names.
    #[error("unknown seccomp action {0:?}")]
    UnknownAction(String),

    /// `SCMP_ACT_NOTIFY` was given as `defaultAction`: every syscall, including the ones
    /// the runtime needs to hand the notify fd over, would block.
    #[error("seccomp action SCMP_ACT_NOTIFY cannot be the default action")]
    NotifyAsDefaultAction,

    /// `errnoRet`/`defaultErrnoRet` was set on an action that returns no errno.
    #[error("seccomp action {action} takes no errno return value")]
    ErrnoNotSupported {
        /// The action as spelled in the profile.
        action: String,
    },

    /// An errno (or trace message number) that does not fit the 16 bits of a seccomp return value.
    #[error("seccomp errno return value {value} is out of range (at most {max})")]
    ErrnoOutOfRange {
        /// The rejected value.
        value: u32,
        /// The largest accepted value.
        max: u32,
    },

    /// An architecture string libseccomp does not know.
    #[error("unknown seccomp architecture {0:?}")]
    UnknownArchitecture(String),

    /// A flag string that is not one of the `SECCOMP_FILTER_FLAG_*` names.
    #[error("unknown seccomp filter flag {0:?}")]
    UnknownFlag(String),

    /// A known flag that the running kernel rejects.
    #[error("unsupported seccomp filter flag {flag}: the running kernel does not accept it")]
    UnsupportedFlag {
        /// The flag as spelled in the profile (or the kernel feature it needs).
        flag: String,
    },

    /// An operator string that is not one of the `SCMP_CMP_*` names.
    #[error("unknown seccomp argument operator {0:?}")]
    UnknownOperator(String),

    /// A syscall argument index outside 0..=5.
    #[error("seccomp argument index {index} of syscall {syscall} is out of range (0 to 5)")]
    ArgumentIndexOutOfRange {
        /// The syscall the condition belongs to.
        syscall: String,
        /// The rejected index.
        index: u64,
    },

    /// A `syscalls[]` entry without names.
    #[error("seccomp syscall rule {index} has no names")]
    EmptySyscallNames {
        /// Position of the entry in `syscalls`.
        index: usize,
    },

    /// The profile uses `SCMP_ACT_NOTIFY` but names no `listenerPath` to send the fd to.
    #[error("seccomp profile uses SCMP_ACT_NOTIFY but sets no listenerPath")]
    NotifyWithoutListener,

    /// `listenerMetadata` is set without `listenerPath`, which the runtime spec forbids.
    #[error("seccomp listenerMetadata is set without listenerPath")]
    MetadataWithoutListener,

    /// libseccomp could not create a filter context.
    #[error("create libseccomp filter context")]
    CreateContext(#[source] libseccomp::error::SeccompError),

    /// libseccomp refused a filter attribute.
    #[error("set libseccomp filter attribute {attribute}")]
    SetAttribute {
        /// The attribute, e.g. `SCMP_FLTATR_CTL_NNP`.
        attribute: &'static str,
        /// What libseccomp said.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// libseccomp refused an architecture it knows by name (e.g. built without it).
    #[error("add seccomp architecture {arch}")]
    AddArchitecture {
        /// The architecture as spelled in the profile.
        arch: String,
        /// What libseccomp said.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// libseccomp refused a rule.
    #[error("add seccomp rule for syscall {syscall}")]
    AddRule {
        /// The syscall name.
        syscall: String,
        /// What libseccomp said.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// libseccomp could not generate the BPF program.
    #[error("export seccomp filter as bpf")]
    ExportBpf(#[source] libseccomp::error::SeccompError),

    /// The generated BPF program could not be read back.
    #[error("read exported seccomp bpf program")]
    ReadBpf(#[source] std::io::Error),

    /// The generated program exceeds the kernel's instruction limit.
    #[error(
        "seccomp filter has {instructions} bpf instructions, more than the kernel limit of {max}"
    )]
    FilterTooLarge {
        /// Length of the generated program.
        instructions: usize,
        /// `BPF_MAXINSNS`.
        max: usize,
    },

    /// The `seccomp(2)` call that installs the filter failed.
    #[error("load seccomp filter")]
    Load(#[source] nix::Error),

    /// `SECCOMP_FILTER_FLAG_TSYNC` could not synchronise another thread of the process.
    #[error("load seccomp filter: thread {tid} could not be synchronised (tsync)")]
    ThreadSync {
        /// The thread the kernel reported.
        tid: i64,
    },

    /// Connecting to the seccomp agent's socket failed.
    #[error("connect to seccomp listener {}", path.display())]
    ConnectListener {
        /// `listenerPath`.
        path: PathBuf,
        /// The connect error.
        #[source]
        source: std::io::Error,
    },

    /// Sending the container process state and notify fd failed.
    #[error("send container process state to seccomp listener {}", path.display())]
    SendToListener {
        /// `listenerPath`.
        path: PathBuf,
        /// The send error.
        #[source]
        source: nix::Error,
    },

    /// The container process state could not be serialised.
    #[error("serialize container process state")]
    SerializeState(#[source] serde_json::Error),
}
