//! A stage being built: the image so far, its container config (what Docker records as
//! the image's `config`: Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes,
//! Labels, Healthcheck, StopSignal, Shell, OnBuild) and the ARGs in scope.

use std::collections::BTreeMap;

use berth_image::{Image, Store};
use serde_json::{json, Value};

use crate::dockerfile::expand;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct StageState {
    /// The image so far; `None` for `FROM scratch` before its first commit.
    pub image: Option<Image>,
    /// The container config object.
    pub config: Value,
    /// ARGs declared in this stage, with their values (a declared ARG without a value
    /// or a given one is in scope but unset: `None`).
    pub args: BTreeMap<String, Option<String>>,
    pub escape: char,
    /// A CMD was given in this stage (so a later ENTRYPOINT keeps it).
    pub cmd_set: bool,
    /// MAINTAINER's, recorded as each later commit's author.
    pub author: Option<String>,
}

pub const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

impl StageState {
    /// The state right after `FROM image` (or scratch).
    pub fn from_image(store: &Store, image: Option<Image>, escape: char) -> Result<StageState> {
        let config = match &image {
            Some(i) => {
                let raw: Value = serde_json::from_slice(&store.blobs().read(&i.id.0)?)
                    .map_err(|e| Error::Invalid(format!("image {}: config: {e}", i.id)))?;
                match raw.get("config") {
                    Some(c) if c.is_object() => c.clone(),
                    _ => json!({}),
                }
            }
            None => json!({}),
        };
        Ok(StageState { image, config, args: BTreeMap::new(), escape, cmd_set: false, author: None })
    }

    /// `NAME` → value as the builder expands it: ENV wins over ARG (Docker's rule).
    pub fn lookup(&self, name: &str) -> Option<String> {
        self.env_value(name).or_else(|| self.args.get(name).cloned().flatten())
    }

    fn env_value(&self, name: &str) -> Option<String> {
        self.env().into_iter().find_map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
            (k == name).then(|| v.to_owned())
        })
    }

    pub fn env(&self) -> Vec<String> {
        strings(&self.config["Env"])
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        let mut env = self.env();
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(format!("{key}={value}"));
        self.config["Env"] = json!(env);
    }

    /// The shell for shell-form commands: SHELL's, or `/bin/sh -c`.
    pub fn shell(&self) -> Vec<String> {
        let s = strings(&self.config["Shell"]);
        if s.is_empty() {
            DEFAULT_SHELL.iter().map(|s| s.to_string()).collect()
        } else {
            s
        }
    }

    pub fn workdir(&self) -> String {
        match self.config["WorkingDir"].as_str() {
            Some(w) if !w.is_empty() => w.to_owned(),
            _ => "/".to_owned(),
        }
    }

    pub fn user(&self) -> String {
        self.config["User"].as_str().unwrap_or("").to_owned()
    }

    /// Expands one word (quotes removed, `$VAR` replaced).
    pub fn expand(&self, word: &str) -> std::result::Result<String, String> {
        expand::expand_word(word, self.escape, &|n| self.lookup(n)).map_err(|e| e.to_string())
    }

    /// Expands and splits on unquoted white space.
    pub fn expand_words(&self, word: &str) -> std::result::Result<Vec<String>, String> {
        expand::expand_words(word, self.escape, &|n| self.lookup(n)).map_err(|e| e.to_string())
    }

    /// The ARGs a RUN sees in its environment (set, and not shadowed by an ENV), sorted.
    pub fn run_args(&self) -> Vec<(String, String)> {
        self.args
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .filter(|(k, _)| self.env_value(k).is_none())
            .collect()
    }
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_owned)).collect()
}
