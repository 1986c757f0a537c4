//! Compiling: an OCI seccomp object becomes a BPF program plus the `seccomp(2)` flags to load
//! it with. libseccomp does the rule-to-BPF translation; its context is dropped once the
//! program is exported, so a [`Filter`] is plain data.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::sys::memfd::{memfd_create, MFdFlags};

use crate::load::{self, KernelFlags};
use crate::spec::{ArgSpec, Operator, SeccompSpec};
use crate::Error;

/// The kernel's limit on the length of one classic BPF program (`BPF_MAXINSNS`).
const BPF_MAXINSNS: usize = 4096;

/// Largest value a seccomp return can carry: the action's 16-bit data field.
const MAX_RET_DATA: u32 = u16::MAX as u32;

/// A compiled filter, built in the runtime's parent process (so errors surface at `create`)
/// and loaded in the container's init right before execve.
///
/// It holds only the BPF program and the flags for `seccomp(2)`: it is `Send`, `Sync` and
/// `Clone`, survives `fork` as ordinary memory, and [`Filter::load`] neither allocates nor calls
/// into libseccomp.
#[derive(Clone)]
pub struct Filter {
    pub(crate) program: Vec<libc::sock_filter>,
    pub(crate) flags: KernelFlags,
    listener_path: Option<PathBuf>,
    listener_metadata: Option<String>,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("instructions", &self.program.len())
            .field("flags", &self.flags)
            .field("listener_path", &self.listener_path)
            .field("listener_metadata", &self.listener_metadata)
            .finish()
    }
}

impl Filter {
    /// Whether the profile has a rule with `SCMP_ACT_NOTIFY`, so that [`Filter::load`] returns
    /// a notify fd which the runtime must pass to [`Filter::listener_path`].
    pub fn uses_notify(&self) -> bool {
        self.flags.new_listener()
    }

    /// `listenerPath` of the profile: where the notify fd goes (see [`crate::send_to_listener`]).
    pub fn listener_path(&self) -> Option<&Path> {
        self.listener_path.as_deref()
    }

    /// `listenerMetadata` of the profile: the `metadata` of the container process state.
    pub fn listener_metadata(&self) -> Option<&str> {
        self.listener_metadata.as_deref()
    }

    /// A filter from a cached program (no listener).
    pub(crate) fn from_parts(program: Vec<libc::sock_filter>, flags: KernelFlags) -> Filter {
        Filter { program, flags, listener_path: None, listener_metadata: None }
    }

    /// Length of the BPF program in instructions.
    pub fn instructions(&self) -> usize {
        self.program.len()
    }
}

/// Compiles a `linux.seccomp` object.
///
/// * Every architecture in `architectures` is added to the filter besides the native one.
/// * A syscall name libseccomp does not know is skipped, as runc does: profiles list syscalls
///   of newer kernels and other architectures. Nothing is logged; the syscall then gets the
///   default action.
/// * A rule whose action equals the default action is skipped (libseccomp rejects it).
/// * Conditions of one rule are ANDed. When two conditions compare the same argument, which
///   libseccomp cannot express in one rule, each condition becomes a rule of its own, i.e. they
///   are ORed, as runc does.
/// * `flags` are checked against the running kernel now, so that an unsupported one fails
///   `create`, not the container's init.
///
/// No-new-privileges is left alone (`SCMP_FLTATR_CTL_NNP` off): loading needs either
/// `CAP_SYS_ADMIN` or a caller that set `PR_SET_NO_NEW_PRIVS` itself.
pub fn compile(s: &oci_spec::runtime::LinuxSeccomp) -> Result<Filter, Error> {
    compile_spec(&SeccompSpec::from_oci(s)?)
}

/// Compiles the JSON text of a `linux.seccomp` object, as [`compile`] does.
///
/// Unlike the typed [`oci_spec::runtime::LinuxSeccomp`], the JSON may use names `oci-spec` has
/// no variant for (e.g. `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`, `SCMP_ARCH_LOONGARCH64`), and
/// names nobody knows fail with an error that quotes them.
pub fn compile_json(json: &[u8]) -> Result<Filter, Error> {
    compile_spec(&SeccompSpec::from_json(json)?)
}

fn compile_spec(spec: &SeccompSpec) -> Result<Filter, Error> {
    let default_action = action(&spec.default_action, spec.default_errno_ret)?;
    if default_action == ScmpAction::Notify {
        return Err(Error::NotifyAsDefaultAction);
    }
    if spec.listener_metadata.is_some() && spec.listener_path.is_none() {
        return Err(Error::MetadataWithoutListener);
    }
    let mut flags = KernelFlags::default();
    for flag in spec.flags.iter().flatten() {
        flags.request(flag)?;
    }

    let mut ctx = ScmpFilterContext::new(default_action).map_err(Error::CreateContext)?;
    ctx.set_ctl_nnp(false)
        .map_err(|source| Error::SetAttribute {
            attribute: "SCMP_FLTATR_CTL_NNP",
            source,
        })?;
    for name in spec.architectures.iter().flatten() {
        let arch =
            ScmpArch::from_str(name).map_err(|_| Error::UnknownArchitecture(name.clone()))?;
        ctx.add_arch(arch)
            .map_err(|source| Error::AddArchitecture {
                arch: name.clone(),
                source,
            })?;
    }

    let mut uses_notify = false;
    for (index, rule) in spec.syscalls.iter().flatten().enumerate() {
        let first = rule
            .names
            .first()
            .ok_or(Error::EmptySyscallNames { index })?;
        let rule_action = action(&rule.action, rule.errno_ret)?;
        if rule_action == default_action {
            continue;
        }
        let conditions = rule
            .args
            .iter()
            .flatten()
            .map(|arg| condition(arg, first))
            .collect::<Result<Vec<_>, _>>()?;
        for name in &rule.names {
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                continue;
            };
            add_rules(&mut ctx, rule_action, syscall, name, &conditions)?;
            uses_notify |= rule_action == ScmpAction::Notify;
        }
    }

    if uses_notify {
        if spec.listener_path.is_none() {
            return Err(Error::NotifyWithoutListener);
        }
        flags.set_new_listener();
    }
    load::probe(&flags)?;

    let program = export(&ctx)?;
    if program.len() > BPF_MAXINSNS {
        return Err(Error::FilterTooLarge {
            instructions: program.len(),
            max: BPF_MAXINSNS,
        });
    }
    Ok(Filter {
        program,
        flags,
        listener_path: spec.listener_path.clone(),
        listener_metadata: spec.listener_metadata.clone(),
    })
}

/// `SCMP_ACT_*` with its optional errno to a libseccomp action.
fn action(name: &str, errno_ret: Option<u32>) -> Result<ScmpAction, Error> {
    let ret_data = || -> Result<u16, Error> {
        let value = errno_ret.unwrap_or(libc::EPERM as u32);
        u16::try_from(value).map_err(|_| Error::ErrnoOutOfRange {
            value,
            max: MAX_RET_DATA,
        })
    };
    let action = match name {
        "SCMP_ACT_ERRNO" => return Ok(ScmpAction::Errno(i32::from(ret_data()?))),
        "SCMP_ACT_TRACE" => return Ok(ScmpAction::Trace(ret_data()?)),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ScmpAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
        "SCMP_ACT_TRAP" => ScmpAction::Trap,
        "SCMP_ACT_LOG" => ScmpAction::Log,
        "SCMP_ACT_NOTIFY" => ScmpAction::Notify,
        "SCMP_ACT_ALLOW" => ScmpAction::Allow,
        other => return Err(Error::UnknownAction(other.to_owned())),
    };
    if errno_ret.is_some() {
        return Err(Error::ErrnoNotSupported {
            action: name.to_owned(),
        });
    }
    Ok(action)
}

/// One condition and the argument index it compares.
#[derive(Clone, Copy)]
struct Condition {
    index: u32,
    compare: ScmpArgCompare,
}

fn condition(arg: &ArgSpec, syscall: &str) -> Result<Condition, Error> {
    let index = u32::try_from(arg.index)
        .ok()
        .filter(|i| *i < 6)
        .ok_or_else(|| Error::ArgumentIndexOutOfRange {
            syscall: syscall.to_owned(),
            index: arg.index,
        })?;
    // For SCMP_CMP_MASKED_EQ `value` is the mask and `valueTwo` the value the masked argument
    // must equal; every other operator compares against `value` and ignores `valueTwo`.
    let (op, datum) = match arg.op {
        Operator::Ne => (ScmpCompareOp::NotEqual, arg.value),
        Operator::Lt => (ScmpCompareOp::Less, arg.value),
        Operator::Le => (ScmpCompareOp::LessOrEqual, arg.value),
        Operator::Eq => (ScmpCompareOp::Equal, arg.value),
        Operator::Ge => (ScmpCompareOp::GreaterEqual, arg.value),
        Operator::Gt => (ScmpCompareOp::Greater, arg.value),
        Operator::MaskedEq => (
            ScmpCompareOp::MaskedEqual(arg.value),
            arg.value_two.unwrap_or(0),
        ),
    };
    Ok(Condition {
        index,
        compare: ScmpArgCompare::new(index, op, datum),
    })
}

fn add_rules(
    ctx: &mut ScmpFilterContext,
    action: ScmpAction,
    syscall: ScmpSyscall,
    name: &str,
    conditions: &[Condition],
) -> Result<(), Error> {
    let failed = |source| Error::AddRule {
        syscall: name.to_owned(),
        source,
    };
    let mut seen = [false; 6];
    let repeats_an_argument = conditions
        .iter()
        .any(|c| std::mem::replace(&mut seen[c.index as usize], true));
    if conditions.is_empty() {
        ctx.add_rule(action, syscall).map_err(failed)?;
    } else if repeats_an_argument {
        for c in conditions {
            ctx.add_rule_conditional(action, syscall, &[c.compare])
                .map_err(failed)?;
        }
    } else {
        let compares: Vec<ScmpArgCompare> = conditions.iter().map(|c| c.compare).collect();
        ctx.add_rule_conditional(action, syscall, &compares)
            .map_err(failed)?;
    }
    Ok(())
}

/// Lets libseccomp generate the program into a memfd and decodes it into kernel instructions.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, Error> {
    let fd = memfd_create(c"berth-seccomp-bpf", MFdFlags::MFD_CLOEXEC)
        .map_err(|e| Error::ReadBpf(e.into()))?;
    let mut file = File::from(fd);
    ctx.export_bpf(&file).map_err(Error::ExportBpf)?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(Error::ReadBpf)?;
    const INSN: usize = std::mem::size_of::<libc::sock_filter>();
    if bytes.len() % INSN != 0 {
        return Err(Error::ReadBpf(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "bpf program of {} bytes is not whole instructions",
                bytes.len()
            ),
        )));
    }
    Ok(bytes
        .chunks_exact(INSN)
        .map(|i| libc::sock_filter {
            code: u16::from_ne_bytes([i[0], i[1]]),
            jt: i[2],
            jf: i[3],
            k: u32::from_ne_bytes([i[4], i[5], i[6], i[7]]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_err(json: &str) -> Error {
        compile_json(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn unknown_architecture_is_a_clear_error() {
        let err =
            compile_err(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}"#);
        assert!(matches!(err, Error::UnknownArchitecture(ref a) if a == "SCMP_ARCH_VAX"));
        assert_eq!(
            err.to_string(),
            r#"unknown seccomp architecture "SCMP_ARCH_VAX""#
        );
    }

    #[test]
    fn unknown_action_flag_and_empty_names_are_errors() {
        let err = compile_err(r#"{"defaultAction":"SCMP_ACT_SHRUG"}"#);
        assert!(matches!(err, Error::UnknownAction(ref a) if a == "SCMP_ACT_SHRUG"));

        let err = compile_err(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_FAST"]}"#,
        );
        assert!(matches!(err, Error::UnknownFlag(ref f) if f == "SECCOMP_FILTER_FLAG_FAST"));

        let err = compile_err(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO"},{"names":[],"action":"SCMP_ACT_ERRNO"}]}"#,
        );
        assert!(matches!(err, Error::EmptySyscallNames { index: 1 }));
    }

    #[test]
    fn errno_only_where_the_action_takes_one() {
        let err = compile_err(r#"{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1}"#);
        assert!(
            matches!(err, Error::ErrnoNotSupported { ref action } if action == "SCMP_ACT_ALLOW")
        );

        let err = compile_err(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_KILL","errnoRet":1}]}"#,
        );
        assert_eq!(
            err.to_string(),
            "seccomp action SCMP_ACT_KILL takes no errno return value"
        );

        let err = compile_err(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}"#);
        assert!(matches!(err, Error::ErrnoOutOfRange { value: 70000, .. }));

        assert!(compile_json(br#"{"defaultAction":"SCMP_ACT_TRACE","defaultErrnoRet":7}"#).is_ok());
        assert_eq!(
            action("SCMP_ACT_ERRNO", None).unwrap(),
            ScmpAction::Errno(libc::EPERM)
        );
        assert_eq!(
            action("SCMP_ACT_TRACE", Some(9)).unwrap(),
            ScmpAction::Trace(9)
        );
        assert_eq!(
            action("SCMP_ACT_KILL", None).unwrap(),
            ScmpAction::KillThread
        );
    }

    #[test]
    fn notify_needs_a_listener_and_cannot_be_the_default() {
        let err = compile_err(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#);
        assert!(matches!(err, Error::NotifyAsDefaultAction));

        let err = compile_err(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        assert!(matches!(err, Error::NotifyWithoutListener));

        let err = compile_err(r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerMetadata":"x"}"#);
        assert!(matches!(err, Error::MetadataWithoutListener));

        let f = compile_json(
            br#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock","listenerMetadata":"m",
                "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        )
        .unwrap();
        assert!(f.uses_notify());
        assert_eq!(f.listener_path(), Some(Path::new("/run/agent.sock")));
        assert_eq!(f.listener_metadata(), Some("m"));
    }

    #[test]
    fn argument_index_is_checked() {
        let err = compile_err(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["close"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        assert!(
            matches!(err, Error::ArgumentIndexOutOfRange { index: 6, ref syscall } if syscall == "close")
        );
    }

    #[test]
    fn unknown_syscalls_and_rules_equal_to_the_default_are_skipped() {
        let f = compile_json(
            br#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["no_such_syscall_at_all","getpid"],"action":"SCMP_ACT_ALLOW"},
                {"names":["getppid"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        assert!(!f.uses_notify());
        assert!(f.instructions() > 0);
    }

    #[test]
    fn repeated_argument_conditions_are_split_and_all_operators_compile() {
        let ops = ["NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ"];
        let args: Vec<String> = ops
            .iter()
            .map(|op| format!(r#"{{"index":0,"value":3,"valueTwo":1,"op":"SCMP_CMP_{op}"}}"#))
            .collect();
        let json = format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["close"],"action":"SCMP_ACT_ERRNO","args":[{}]}}]}}"#,
            args.join(",")
        );
        compile_json(json.as_bytes()).unwrap();
    }

    #[test]
    fn other_architectures_are_added() {
        let native_only = compile_json(br#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#).unwrap();
        let other = if cfg!(target_arch = "x86_64") {
            "SCMP_ARCH_X86"
        } else {
            "SCMP_ARCH_ARM"
        };
        let json = format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_NATIVE","{other}"],"syscalls":[{{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}}]}}"#
        );
        let both = compile_json(json.as_bytes()).unwrap();
        assert!(both.instructions() > native_only.instructions());
    }

    #[test]
    fn filters_cross_threads_and_forks_as_plain_data() {
        fn plain<T: Send + Sync + Clone + 'static>() {}
        plain::<Filter>();
    }

    #[test]
    fn typed_oci_profiles_compile() {
        let oci: oci_spec::runtime::LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_TSYNC"],
                "syscalls":[{"names":["getcwd","chmod"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
        )
        .unwrap();
        let f = compile(&oci).unwrap();
        assert!(!f.uses_notify());
        let clone = f.clone();
        assert_eq!(clone.instructions(), f.instructions());
        assert!(format!("{f:?}").contains("instructions"));
    }
}
