//! Parsers of the values docker's flags take, each as the docker CLI reads it, so the
//! Engine API body berth sends is the one docker would send: sizes (`512m`), CPU counts,
//! ulimits, devices, restart policies, published ports, env files, volumes and mounts,
//! Go durations, and `-f key=value` filters.
//!
//! Errors are the one-line messages the commands print (lower-case, naming the value).

pub mod cpus;
pub mod device;
pub mod duration;
pub mod envfile;
pub mod filters;
pub mod memory;
pub mod mounts;
pub mod networks;
pub mod ports;
pub mod restart;
pub mod ulimit;

/// `key=value` (`key` alone gives an empty value), as `--label`, `--sysctl`, `--log-opt`
/// take them.
pub fn key_value(s: &str) -> (String, String) {
    match s.split_once('=') {
        Some((k, v)) => (k.to_owned(), v.to_owned()),
        None => (s.to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_values() {
        assert_eq!(super::key_value("a=b=c"), ("a".into(), "b=c".into()));
        assert_eq!(super::key_value("a"), ("a".into(), "".into()));
    }
}
