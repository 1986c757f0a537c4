//! Credentials, and where they are kept: docker's `config.json` (`$DOCKER_CONFIG/config.json`,
//! else `~/.docker/config.json`), whose `auths` map a registry to base64 `user:password`,
//! so `docker login` and `berth login` share their logins. Other keys of the file are kept
//! as they are when berth writes it. Credential helpers (`credsStore`, `credHelpers`) are
//! not run: a registry configured for one is reported as having no stored login.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};

/// Docker Hub's key in `auths` (docker's `IndexServer`).
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// An OAuth refresh token a token server handed out instead of a password.
    pub identity_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    // Never print a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn new(username: &str, password: &str) -> Credentials {
        Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
            identity_token: None,
        }
    }

    /// `Authorization: Basic …`.
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// Decodes the `X-Registry-Auth` header of the Engine API: base64 (URL-safe, as the
    /// docker CLI writes it, or standard) of `{"username","password","serveraddress",
    /// "identitytoken"}`. `{}` or empty fields mean anonymous: `None`.
    pub fn from_registry_auth(header: &str) -> Result<Option<Credentials>> {
        let header = header.trim();
        if header.is_empty() {
            return Ok(None);
        }
        let bytes = decode_any(header)
            .ok_or_else(|| Error::Config("X-Registry-Auth is not base64".to_owned()))?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Config(format!("X-Registry-Auth is not JSON: {e}")))?;
        let get = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let mut c = Credentials::new(&get("username"), &get("password"));
        let token = get("identitytoken");
        if !token.is_empty() {
            c.identity_token = Some(token);
        }
        if c.username.is_empty() && c.password.is_empty() && c.identity_token.is_none() {
            // docker sends an `auth` field in some versions: base64 user:password.
            if let Some(a) = v.get("auth").and_then(Value::as_str) {
                return Ok(parse_auth_field(a));
            }
            return Ok(None);
        }
        Ok(Some(c))
    }

    /// The `X-Registry-Auth` value for these credentials (URL-safe base64 JSON).
    pub fn to_registry_auth(&self, server: &str) -> String {
        let mut v =
            json!({"username": self.username, "password": self.password, "serveraddress": server});
        if let Some(t) = &self.identity_token {
            v["identitytoken"] = json!(t);
        }
        base64::engine::general_purpose::URL_SAFE.encode(v.to_string())
    }
}

fn decode_any(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [URL_SAFE, URL_SAFE_NO_PAD, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s).ok())
}

fn parse_auth_field(a: &str) -> Option<Credentials> {
    let raw = String::from_utf8(decode_any(a)?).ok()?;
    let (u, p) = raw.split_once(':')?;
    Some(Credentials::new(u, p))
}

/// The key of `auths` for a registry host: Docker Hub's URL for `docker.io`, the host
/// (with its port) otherwise.
pub fn config_key(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY.to_owned(),
        other => other.to_owned(),
    }
}

/// The host a key of `auths` names: `https://host:5000/v1/` → `host:5000`.
fn key_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

/// docker's `config.json`, as much of it as logins need.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl DockerConfig {
    /// Where docker keeps it: `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    pub fn default_path() -> PathBuf {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir).join("config.json");
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"));
        home.join(".docker").join("config.json")
    }

    /// Reads the file at `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<DockerConfig> {
        let doc = match fs::read(path) {
            Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(b) => match serde_json::from_slice::<Value>(&b) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(Error::Config(format!(
                        "{}: not a JSON object",
                        path.display()
                    )))
                }
                Err(e) => return Err(Error::Config(format!("{}: {e}", path.display()))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(source) => {
                return Err(Error::File {
                    what: "read",
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        Ok(DockerConfig {
            path: path.to_owned(),
            doc,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The logins of an `X-Registry-Config` header (what `docker build` sends: base64 of a
    /// JSON map from registry to `{"username","password"|"auth","identitytoken"}`, the shape
    /// of config.json's `auths`), looked up with [`DockerConfig::get`] as a file's are.
    pub fn from_registry_config(header: &str) -> Result<DockerConfig> {
        let header = header.trim();
        let auths = if header.is_empty() {
            Map::new()
        } else {
            let bytes = decode_any(header).ok_or_else(|| Error::Config("X-Registry-Config is not base64".to_owned()))?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                Ok(Value::Null) => Map::new(),
                Ok(_) => return Err(Error::Config("X-Registry-Config is not a JSON object".to_owned())),
                Err(e) => return Err(Error::Config(format!("X-Registry-Config is not JSON: {e}"))),
            }
        };
        let mut doc = Map::new();
        doc.insert("auths".to_owned(), Value::Object(auths));
        Ok(DockerConfig { path: PathBuf::new(), doc })
    }

    /// Every stored login as an `X-Registry-Config` value (URL-safe base64 JSON), as the
    /// docker CLI sends them with a build: the daemon picks the one each FROM needs.
    pub fn registry_config(&self) -> String {
        let auths = self.doc.get("auths").cloned().unwrap_or_else(|| json!({}));
        base64::engine::general_purpose::URL_SAFE.encode(auths.to_string())
    }

    /// The stored login for `registry` (a host, `docker.io`, or a key as docker writes it).
    pub fn get(&self, registry: &str) -> Option<Credentials> {
        let auths = self.doc.get("auths")?.as_object()?;
        let want = config_key(registry);
        let entry = auths.get(&want).or_else(|| {
            let host = key_host(&want);
            auths
                .iter()
                .find(|(k, _)| key_host(k) == host)
                .map(|(_, v)| v)
        })?;
        let mut c = match entry.get("auth").and_then(Value::as_str) {
            Some(a) if !a.is_empty() => parse_auth_field(a)?,
            _ => Credentials::new(
                entry.get("username").and_then(Value::as_str).unwrap_or(""),
                entry.get("password").and_then(Value::as_str).unwrap_or(""),
            ),
        };
        if let Some(t) = entry.get("identitytoken").and_then(Value::as_str) {
            c.identity_token = Some(t.to_owned());
        }
        if c.username.is_empty() && c.password.is_empty() && c.identity_token.is_none() {
            return None;
        }
        Some(c)
    }

    /// Stores a login for `registry` (written by [`DockerConfig::save`]).
    pub fn set(&mut self, registry: &str, creds: &Credentials) {
        let raw = format!("{}:{}", creds.username, creds.password);
        let mut entry = json!({"auth": base64::engine::general_purpose::STANDARD.encode(raw)});
        if let Some(t) = &creds.identity_token {
            entry["identitytoken"] = json!(t);
        }
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Some(m) = auths.as_object_mut() {
            m.insert(config_key(registry), entry);
        }
    }

    /// Forgets the login for `registry`; whether there was one.
    pub fn remove(&mut self, registry: &str) -> bool {
        let Some(auths) = self.doc.get_mut("auths").and_then(Value::as_object_mut) else {
            return false;
        };
        let want = config_key(registry);
        let host = key_host(&want).to_owned();
        let keys: Vec<String> = auths
            .keys()
            .filter(|k| **k == want || key_host(k) == host)
            .cloned()
            .collect();
        for k in &keys {
            auths.remove(k);
        }
        !keys.is_empty()
    }

    /// Writes the file atomically (temp file, fsync, rename), mode 0600 as docker does: it
    /// holds passwords.
    pub fn save(&self) -> Result<()> {
        let file_err = |what, source| Error::File {
            what,
            path: self.path.display().to_string(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| file_err("create directory for", e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".config.json.")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(|e| file_err("write", e))?;
        let text = serde_json::to_string_pretty(&Value::Object(self.doc.clone()))
            .map_err(|e| Error::Config(e.to_string()))?;
        tmp.write_all(text.as_bytes())
            .and_then(|_| tmp.write_all(b"\n"))
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| file_err("write", e))?;
        tmp.persist(&self.path)
            .map_err(|e| file_err("write", e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_config_round_trip() {
        let mut c = DockerConfig::from_registry_config("").unwrap();
        assert!(c.get("r.example:5000").is_none());
        c.set("r.example:5000", &Credentials::new("alice", "s3cret"));
        let back = DockerConfig::from_registry_config(&c.registry_config()).unwrap();
        assert_eq!(back.get("r.example:5000"), Some(Credentials::new("alice", "s3cret")));
        assert!(back.get("other.example").is_none());
        // docker's own shape: username and password fields, standard base64.
        let raw = base64::engine::general_purpose::STANDARD.encode(r#"{"https://index.docker.io/v1/":{"username":"bob","password":"pw"}}"#);
        assert_eq!(DockerConfig::from_registry_config(&raw).unwrap().get("docker.io"), Some(Credentials::new("bob", "pw")));
        assert!(DockerConfig::from_registry_config("!!").is_err());
    }

    #[test]
    fn reads_docker_written_config_and_keeps_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        // What `docker login localhost:5000 -u alice -p s3cret` writes.
        fs::write(
            &path,
            r#"{"auths":{"localhost:5000":{"auth":"YWxpY2U6czNjcmV0"},
                "https://index.docker.io/v1/":{"auth":"Ym9iOnB3"}},
                "psFormat":"table {{.ID}}"}"#,
        )
        .unwrap();
        let mut c = DockerConfig::load(&path).unwrap();
        assert_eq!(
            c.get("localhost:5000"),
            Some(Credentials::new("alice", "s3cret"))
        );
        assert_eq!(c.get("docker.io"), Some(Credentials::new("bob", "pw")));
        assert_eq!(c.get("other:5000"), None);
        c.set("127.0.0.1:5001", &Credentials::new("carol", "a:b"));
        assert!(c.remove("localhost:5000"));
        assert!(!c.remove("localhost:5000"));
        c.save().unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = DockerConfig::load(&path).unwrap();
        assert_eq!(
            again.get("127.0.0.1:5001"),
            Some(Credentials::new("carol", "a:b"))
        );
        assert_eq!(again.get("localhost:5000"), None);
        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["psFormat"], "table {{.ID}}");
        assert_eq!(v["auths"]["127.0.0.1:5001"]["auth"], "Y2Fyb2w6YTpi");
    }

    #[test]
    fn missing_or_scheme_prefixed_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.json");
        assert_eq!(DockerConfig::load(&path).unwrap().get("x:1"), None);
        fs::write(
            &path,
            r#"{"auths":{"https://reg.example:443/v1/":{"auth":"dTpw"}}}"#,
        )
        .unwrap();
        assert_eq!(
            DockerConfig::load(&path).unwrap().get("reg.example:443"),
            Some(Credentials::new("u", "p"))
        );
        fs::write(&path, "{not json").unwrap();
        assert!(DockerConfig::load(&path).is_err());
    }

    #[test]
    fn registry_auth_header_round_trip() {
        let c = Credentials::new("alice", "pw");
        let h = c.to_registry_auth("localhost:5000");
        assert_eq!(Credentials::from_registry_auth(&h).unwrap(), Some(c));
        // "{}" as the docker CLI sends for an anonymous push.
        assert_eq!(Credentials::from_registry_auth("e30=").unwrap(), None);
        assert_eq!(Credentials::from_registry_auth("").unwrap(), None);
        assert!(Credentials::from_registry_auth("!!!").is_err());
        assert!(!format!("{:?}", Credentials::new("u", "secret")).contains("secret"));
    }
}
