//! The OCI `linux.seccomp` object as this crate reads it: every enumerated value kept as the
//! string the runtime spec defines, so that names `oci-spec` has no variant for (newer
//! architectures, `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`) still reach the compiler and a name
//! nobody knows fails with an error that quotes it.

use std::path::PathBuf;

use serde::Deserialize;

use crate::Error;

/// `linux.seccomp` (runtime spec, config-linux.md "Seccomp").
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SeccompSpec {
    pub(crate) default_action: String,
    #[serde(default)]
    pub(crate) default_errno_ret: Option<u32>,
    #[serde(default)]
    pub(crate) architectures: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) flags: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) listener_path: Option<PathBuf>,
    #[serde(default)]
    pub(crate) listener_metadata: Option<String>,
    #[serde(default)]
    pub(crate) syscalls: Option<Vec<SyscallSpec>>,
}

/// One `syscalls[]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SyscallSpec {
    pub(crate) names: Vec<String>,
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) errno_ret: Option<u32>,
    #[serde(default)]
    pub(crate) args: Option<Vec<ArgSpec>>,
}

/// One `syscalls[].args[]` condition.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ArgSpec {
    pub(crate) index: u64,
    pub(crate) value: u64,
    #[serde(default)]
    pub(crate) value_two: Option<u64>,
    pub(crate) op: Operator,
}

/// The `SCMP_CMP_*` operators; unknown names are kept so the error can quote them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

impl<'de> Deserialize<'de> for Operator {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Operator::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Operator {
    pub(crate) fn parse(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "SCMP_CMP_NE" => Self::Ne,
            "SCMP_CMP_LT" => Self::Lt,
            "SCMP_CMP_LE" => Self::Le,
            "SCMP_CMP_EQ" => Self::Eq,
            "SCMP_CMP_GE" => Self::Ge,
            "SCMP_CMP_GT" => Self::Gt,
            "SCMP_CMP_MASKED_EQ" => Self::MaskedEq,
            other => return Err(Error::UnknownOperator(other.to_owned())),
        })
    }
}

impl SeccompSpec {
    /// Reads the typed `oci-spec` value through its own serde spelling, which is the spelling
    /// of the runtime spec.
    pub(crate) fn from_oci(s: &oci_spec::runtime::LinuxSeccomp) -> Result<Self, Error> {
        let value = serde_json::to_value(s).map_err(Error::ParseProfile)?;
        Self::from_value(value)
    }

    /// Reads the JSON text of a `linux.seccomp` object.
    pub(crate) fn from_json(json: &[u8]) -> Result<Self, Error> {
        let value: serde_json::Value = serde_json::from_slice(json).map_err(Error::ParseProfile)?;
        Self::from_value(value)
    }

    fn from_value(value: serde_json::Value) -> Result<Self, Error> {
        // Operators are checked before serde so that an unknown one is reported as such and not
        // as a generic parse error.
        if let Some(syscalls) = value.get("syscalls").and_then(|v| v.as_array()) {
            for args in syscalls.iter().filter_map(|s| s.get("args")?.as_array()) {
                for op in args.iter().filter_map(|a| a.get("op")?.as_str()) {
                    Operator::parse(op)?;
                }
            }
        }
        serde_json::from_value(value).map_err(Error::ParseProfile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_typed_oci_value_with_spec_spelling() {
        let oci: oci_spec::runtime::LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
                "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_MIPS64N32"],
                "flags":["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "syscalls":[{"names":["close"],"action":"SCMP_ACT_ALLOW",
                             "args":[{"index":0,"value":1,"valueTwo":2,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
        )
        .unwrap();
        let s = SeccompSpec::from_oci(&oci).unwrap();
        assert_eq!(s.default_action, "SCMP_ACT_ERRNO");
        assert_eq!(s.default_errno_ret, Some(38));
        assert_eq!(
            s.architectures.unwrap(),
            ["SCMP_ARCH_X86_64", "SCMP_ARCH_MIPS64N32"]
        );
        assert_eq!(s.flags.unwrap(), ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]);
        let sc = &s.syscalls.unwrap()[0];
        let arg = sc.args.as_ref().unwrap()[0];
        assert_eq!((arg.index, arg.value, arg.value_two), (0, 1, Some(2)));
        assert_eq!(arg.op, Operator::MaskedEq);
    }

    #[test]
    fn unknown_operator_is_named() {
        let err = SeccompSpec::from_json(
            br#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["close"],
                "action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_ALMOST"}]}]}"#,
        )
        .unwrap_err();
        assert!(matches!(err, Error::UnknownOperator(ref op) if op == "SCMP_CMP_ALMOST"));
    }

    #[test]
    fn syntax_errors_are_parse_errors() {
        let err = SeccompSpec::from_json(b"{").unwrap_err();
        assert!(matches!(err, Error::ParseProfile(_)));
        assert_eq!(err.to_string(), "parse seccomp profile");
    }
}
