//! `POST /commit`: the container's changes (its overlay upper directory) as a new layer
//! on its image, with the container's config, the request's config, and `--change`
//! Dockerfile instructions applied on top.

use std::sync::Arc;

use berth_image::{Commit, CommitOptions, Reference};
use serde_json::{json, Value};

use crate::container::record::Status;
use crate::container::Container;
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::runtime;

#[derive(Debug, Default)]
pub struct Request {
    pub reference: Option<String>,
    pub comment: Option<String>,
    pub author: Option<String>,
    pub pause: bool,
    pub changes: Vec<String>,
    /// The body: a config whose non-empty fields replace the container's.
    pub config: Option<Value>,
}

/// `CMD ["a","b"]` / `CMD a b` → the exec form (shell form through `/bin/sh -c`).
fn command_form(args: &str) -> Value {
    let t = args.trim();
    if t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(t) {
            return json!(v);
        }
    }
    json!(["/bin/sh", "-c", t])
}

/// `KEY=VALUE KEY2="v 2"` or the old `KEY VALUE`.
fn pairs(args: &str) -> Vec<(String, String)> {
    let t = args.trim();
    if !t.contains('=') {
        let (k, v) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        return vec![(k.to_owned(), v.trim().to_owned())];
    }
    let mut out = Vec::new();
    let mut rest = t;
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else { break };
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (q[..end].to_owned(), q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_owned(), &after[end..])
        };
        out.push((k.trim().to_owned(), v));
        rest = next.trim_start();
    }
    out
}

/// Applies one `--change` instruction to an image config object.
pub fn apply_change(config: &mut Value, change: &str) -> Result<()> {
    let t = change.trim();
    let (instr, args) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    let args = args.trim();
    match instr.to_ascii_uppercase().as_str() {
        "CMD" => config["Cmd"] = command_form(args),
        "ENTRYPOINT" => config["Entrypoint"] = command_form(args),
        "WORKDIR" => config["WorkingDir"] = json!(args),
        "USER" => config["User"] = json!(args),
        "STOPSIGNAL" => config["StopSignal"] = json!(args),
        "ENV" => {
            let mut env: Vec<String> = config["Env"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect();
            for (k, v) in pairs(args) {
                env.retain(|e| e.split('=').next() != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
            config["Env"] = json!(env);
        }
        "LABEL" => {
            if !config["Labels"].is_object() {
                config["Labels"] = json!({});
            }
            for (k, v) in pairs(args) {
                config["Labels"][k] = json!(v);
            }
        }
        "EXPOSE" => {
            if !config["ExposedPorts"].is_object() {
                config["ExposedPorts"] = json!({});
            }
            for p in args.split_whitespace() {
                let p = if p.contains('/') { p.to_owned() } else { format!("{p}/tcp") };
                config["ExposedPorts"][p] = json!({});
            }
        }
        "VOLUME" => {
            if !config["Volumes"].is_object() {
                config["Volumes"] = json!({});
            }
            let list: Vec<String> = serde_json::from_str(args).unwrap_or_else(|_| args.split_whitespace().map(str::to_owned).collect());
            for v in list {
                config["Volumes"][v] = json!({});
            }
        }
        "ONBUILD" => {
            let mut v: Vec<Value> = config["OnBuild"].as_array().cloned().unwrap_or_default();
            v.push(json!(args));
            config["OnBuild"] = json!(v);
        }
        other => {
            return Err(Error::Invalid(format!(
                "{other} is not a valid change command (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)"
            )))
        }
    }
    Ok(())
}

pub async fn commit(d: &Arc<Daemon>, c: &Arc<Container>, req: Request) -> Result<String> {
    let r = c.record();
    let reference = req
        .reference
        .as_deref()
        .map(|s| Reference::parse(s).map_err(|e| Error::Invalid(e.to_string())))
        .transpose()?;
    let mut config = serde_json::to_value(&r.config).map_err(|e| Error::internal("encode config", e))?;
    if let Some(obj) = config.as_object_mut() {
        for k in ["Hostname", "Image", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"] {
            obj.remove(k);
        }
    }
    if let Some(Value::Object(body)) = &req.config {
        for (k, v) in body {
            let empty = v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(|a| a.is_empty()) || v.as_object().is_some_and(|o| o.is_empty());
            if !empty && !matches!(k.as_str(), "Hostname" | "Image") {
                config[k] = v.clone();
            }
        }
    }
    for ch in &req.changes {
        apply_change(&mut config, ch)?;
    }
    let parent = d.images.resolve(&r.image_id).map_err(|_| {
        Error::Conflict(format!("commit {}: its image {} is no longer in the store", c.id, r.image_id))
    })?;
    let paused = req.pause && c.status() == Status::Running && runtime::pause(d, &c.id, true).await.is_ok();
    let opts = CommitOptions {
        config,
        author: req.author.filter(|a| !a.is_empty()),
        comment: req.comment.filter(|a| !a.is_empty()),
        created_by: format!("{} {}", r.path, r.args.join(" ")).trim().to_owned(),
        reference,
        empty_layer: false,
        adopt_upper: false,
    };
    let store = d.images.clone();
    let upper = c.dir.join("upper");
    let result = tokio::task::spawn_blocking(move || store.commit(Some(&parent), &upper, &opts))
        .await
        .map_err(|e| Error::internal("commit", e));
    if paused {
        let _ = runtime::pause(d, &c.id, false).await;
    }
    let id = result??.to_string();
    let mut attrs = std::collections::HashMap::new();
    attrs.insert("name".to_owned(), r.name.clone());
    d.events.container("commit", &c.id, &r.image, attrs);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes() {
        let mut c = json!({"Env": ["A=1"]});
        apply_change(&mut c, "CMD [\"cat\", \"/x\"]").unwrap();
        apply_change(&mut c, "ENTRYPOINT echo hi").unwrap();
        apply_change(&mut c, "ENV A=2 B=\"two words\"").unwrap();
        apply_change(&mut c, "LABEL k=v").unwrap();
        apply_change(&mut c, "EXPOSE 80 53/udp").unwrap();
        assert_eq!(c["Cmd"], json!(["cat", "/x"]));
        assert_eq!(c["Entrypoint"], json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(c["Env"], json!(["A=2", "B=two words"]));
        assert_eq!(c["Labels"]["k"], "v");
        assert!(c["ExposedPorts"]["53/udp"].is_object());
        assert!(apply_change(&mut c, "RUN ls").is_err());
    }
}
