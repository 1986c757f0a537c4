//! The instructions that only change the image's config: CMD ENTRYPOINT SHELL ENV LABEL
//! EXPOSE VOLUME USER WORKDIR STOPSIGNAL HEALTHCHECK ONBUILD MAINTAINER (and ARG, which
//! changes only the stage's scope). Each returns the text Docker's classic builder records
//! in the history (`#(nop)  CMD ["sh"]`), which is also the step's cache key.

use serde_json::{json, Map, Value};

use crate::dockerfile::ast::{Command, Healthcheck, Kind};
use crate::state::StageState;

type Args = std::collections::BTreeMap<String, Option<String>>;

/// Applies `kind` to `st`; `Err` is a message for the step's location.
pub fn apply(st: &mut StageState, kind: &Kind, build_args: &Args, global: &Args) -> Result<String, String> {
    Ok(match kind {
        Kind::Cmd(cmd) => {
            let v = command_json(cmd, &st.shell());
            st.config["Cmd"] = v.clone();
            st.cmd_set = true;
            format!("CMD {v}")
        }
        Kind::Entrypoint(cmd) => {
            let v = command_json(cmd, &st.shell());
            st.config["Entrypoint"] = v.clone();
            // Docker: a new ENTRYPOINT resets a CMD inherited from the base image (one
            // set earlier in this stage stays).
            if !st.cmd_set {
                st.config["Cmd"] = Value::Null;
            }
            format!("ENTRYPOINT {v}")
        }
        Kind::Shell(shell) => {
            st.config["Shell"] = json!(shell);
            format!("SHELL {}", json!(shell))
        }
        Kind::Env(pairs) => {
            let mut shown = Vec::new();
            for (k, v) in pairs {
                let k = st.expand(k)?;
                let v = st.expand(v)?;
                st.set_env(&k, &v);
                shown.push(format!("{k}={v}"));
            }
            format!("ENV {}", shown.join(" "))
        }
        Kind::Label(pairs) => {
            let mut shown = Vec::new();
            for (k, v) in pairs {
                let k = st.expand(k)?;
                let v = st.expand(v)?;
                labels(&mut st.config).insert(k.clone(), json!(v));
                shown.push(format!("{k}={v}"));
            }
            format!("LABEL {}", shown.join(" "))
        }
        Kind::Expose(words) => {
            let mut shown = Vec::new();
            for w in words {
                for word in st.expand_words(w)? {
                    // A range is recorded port by port, as Docker does.
                    for port in normalize_port(&word)? {
                        object(&mut st.config, "ExposedPorts").insert(port.clone(), json!({}));
                        shown.push(port);
                    }
                }
            }
            format!("EXPOSE {}", shown.join(" "))
        }
        Kind::Volume(paths) => {
            let mut shown = Vec::new();
            for p in paths {
                for v in st.expand_words(p)? {
                    if v.is_empty() {
                        return Err("VOLUME specified can not be an empty string".into());
                    }
                    object(&mut st.config, "Volumes").insert(v.clone(), json!({}));
                    shown.push(v);
                }
            }
            format!("VOLUME [{}]", shown.iter().map(|s| json!(s).to_string()).collect::<Vec<_>>().join(" "))
        }
        Kind::User(u) => {
            let u = st.expand(u)?;
            st.config["User"] = json!(u);
            format!("USER {u}")
        }
        Kind::Workdir(w) => {
            let w = st.expand(w)?;
            let abs = join_workdir(&st.workdir(), &w);
            st.config["WorkingDir"] = json!(abs);
            format!("WORKDIR {abs}")
        }
        Kind::StopSignal(s) => {
            let s = st.expand(s)?;
            if !valid_signal(&s) {
                return Err(format!("Invalid signal: {s}"));
            }
            st.config["StopSignal"] = json!(s);
            format!("STOPSIGNAL {s}")
        }
        Kind::Healthcheck(h) => {
            let v = healthcheck(h)?;
            st.config["Healthcheck"] = v.clone();
            format!("HEALTHCHECK {v}")
        }
        Kind::Onbuild(trigger) => {
            let mut list = crate::state::strings(&st.config["OnBuild"]);
            list.push(trigger.clone());
            st.config["OnBuild"] = json!(list);
            format!("ONBUILD {trigger}")
        }
        Kind::Maintainer(m) => {
            // An image field, not a config one: recorded by the caller as the author.
            format!("MAINTAINER {m}")
        }
        Kind::Arg(decls) => {
            let mut shown = Vec::new();
            for d in decls {
                // A given --build-arg wins, then the declared default, then a global
                // ARG of the same name (`ARG NAME` re-declaring it inside the stage).
                let value = match build_args.get(&d.name) {
                    Some(Some(v)) => Some(v.clone()),
                    _ => match &d.default {
                        Some(def) => Some(st.expand(def)?),
                        None => global.get(&d.name).cloned().flatten(),
                    },
                };
                shown.push(match &value {
                    Some(v) => format!("{}={v}", d.name),
                    None => d.name.clone(),
                });
                st.args.insert(d.name.clone(), value);
            }
            format!("ARG {}", shown.join(" "))
        }
        Kind::Run { .. } | Kind::Copy(_) | Kind::Add(_) => unreachable!("not a metadata instruction"),
    })
}

/// A command as the config records it: exec form as is, shell form behind the shell.
pub fn command_json(cmd: &Command, shell: &[String]) -> Value {
    match cmd {
        Command::Exec(v) => json!(v),
        Command::Shell(s) => {
            let mut v = shell.to_vec();
            v.push(s.clone());
            json!(v)
        }
    }
}

fn object<'a>(c: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !c[key].is_object() {
        c[key] = json!({});
    }
    c[key].as_object_mut().expect("just made an object")
}

fn labels(c: &mut Value) -> &mut Map<String, Value> {
    object(c, "Labels")
}

/// `80` → `80/tcp`; `53/UDP` → `53/udp`; `8000-8001` → `8000/tcp`, `8001/tcp`.
fn normalize_port(p: &str) -> Result<Vec<String>, String> {
    let bad = || format!("invalid containerPort: {p}");
    let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<u16>().map_err(|_| bad());
    let (first, last) = match port.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(port)?, num(port)?),
    };
    if first > last {
        return Err(bad());
    }
    Ok((first..=last).map(|n| format!("{n}/{proto}")).collect())
}

/// WORKDIR relative to the current one, cleaned.
pub fn join_workdir(current: &str, w: &str) -> String {
    let joined = if w.starts_with('/') { w.to_owned() } else { format!("{current}/{w}") };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn valid_signal(s: &str) -> bool {
    if s.parse::<u32>().is_ok_and(|n| n > 0 && n < 65) {
        return true;
    }
    let name = s.strip_prefix("SIG").unwrap_or(s);
    format!("SIG{name}").parse::<nix::sys::signal::Signal>().is_ok() || name.starts_with("RTMIN") || name.starts_with("RTMAX")
}

fn healthcheck(h: &Healthcheck) -> Result<Value, String> {
    Ok(match h {
        Healthcheck::None => json!({"Test": ["NONE"]}),
        Healthcheck::Check { test, interval, timeout, start_period, start_interval, retries } => {
            let test = match test {
                Command::Exec(v) => {
                    let mut t = vec!["CMD".to_owned()];
                    t.extend(v.iter().cloned());
                    t
                }
                Command::Shell(s) => vec!["CMD-SHELL".to_owned(), s.clone()],
            };
            let mut o = Map::new();
            o.insert("Test".into(), json!(test));
            for (key, v) in [("Interval", interval), ("Timeout", timeout), ("StartPeriod", start_period), ("StartInterval", start_interval)] {
                if let Some(d) = v {
                    o.insert(key.into(), json!(duration_ns(d)?));
                }
            }
            if let Some(r) = retries {
                o.insert("Retries".into(), json!(r));
            }
            Value::Object(o)
        }
    })
}

/// Go's duration syntax (`1m30s`, `500ms`, `1.5h`) in nanoseconds (the parser checked it).
pub fn duration_ns(s: &str) -> Result<i64, String> {
    crate::dockerfile::parse::go_duration(s).map(|n| n.round() as i64).ok_or_else(|| format!("invalid duration {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_ports_workdirs() {
        assert_eq!(duration_ns("1m30s").unwrap(), 90_000_000_000);
        assert_eq!(duration_ns("500ms").unwrap(), 500_000_000);
        assert!(duration_ns("5x").is_err());
        assert_eq!(normalize_port("80").unwrap(), ["80/tcp"]);
        assert_eq!(normalize_port("53/UDP").unwrap(), ["53/udp"]);
        assert_eq!(normalize_port("8000-8001").unwrap(), ["8000/tcp", "8001/tcp"]);
        assert!(normalize_port("http").is_err());
        assert_eq!(join_workdir("/a", "b/../c"), "/a/c");
        assert_eq!(join_workdir("/a", "/x/"), "/x");
        assert!(valid_signal("SIGTERM") && valid_signal("KILL") && valid_signal("9") && !valid_signal("SIGFOO"));
    }
}

#[cfg(test)]
mod config_tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::apply;
    use crate::dockerfile::ast::{ArgDecl, Command, Kind};
    use crate::state::StageState;

    fn state() -> StageState {
        StageState { image: None, config: json!({"Env": ["PATH=/bin"], "Cmd": ["sh"]}), args: BTreeMap::new(), escape: '\\', cmd_set: false, author: None }
    }

    #[test]
    fn env_wins_over_arg_and_expands() {
        let mut st = state();
        let given = BTreeMap::from([("V".to_owned(), Some("given".to_owned()))]);
        let none = BTreeMap::new();
        apply(&mut st, &Kind::Arg(vec![ArgDecl { name: "V".into(), default: Some("dflt".into()) }]), &given, &none).unwrap();
        assert_eq!(st.lookup("V").as_deref(), Some("given"));
        apply(&mut st, &Kind::Env(vec![("W".into(), "\"${V}-x\"".into())]), &given, &none).unwrap();
        assert_eq!(st.lookup("W").as_deref(), Some("given-x"));
        apply(&mut st, &Kind::Env(vec![("V".into(), "env".into())]), &given, &none).unwrap();
        assert_eq!(st.lookup("V").as_deref(), Some("env"), "ENV shadows ARG");
        assert!(st.run_args().is_empty(), "a shadowed ARG is not passed to RUN again");
    }

    #[test]
    fn entrypoint_resets_an_inherited_cmd_only() {
        let none = BTreeMap::new();
        let mut st = state();
        apply(&mut st, &Kind::Entrypoint(Command::Exec(vec!["/bin/app".into()])), &none, &none).unwrap();
        assert!(st.config["Cmd"].is_null());
        let mut st = state();
        apply(&mut st, &Kind::Cmd(Command::Shell("run me".into())), &none, &none).unwrap();
        apply(&mut st, &Kind::Entrypoint(Command::Exec(vec!["/bin/app".into()])), &none, &none).unwrap();
        assert_eq!(st.config["Cmd"], json!(["/bin/sh", "-c", "run me"]));
    }

    #[test]
    fn global_arg_needs_redeclaring() {
        let none = BTreeMap::new();
        let global = BTreeMap::from([("G".to_owned(), Some("g".to_owned()))]);
        let mut st = state();
        assert_eq!(st.lookup("G"), None);
        apply(&mut st, &Kind::Arg(vec![ArgDecl { name: "G".into(), default: None }]), &none, &global).unwrap();
        assert_eq!(st.lookup("G").as_deref(), Some("g"));
    }
}
