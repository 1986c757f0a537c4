//! `/containers/...`: lifecycle, listing, inspection, logs, archives, stats.

use http::Method;
use http::Response;
use hyper::body::Incoming;
use serde_json::Value;

use crate::body::Body;
use crate::client::{json_body, read_all, Client};
use crate::error::{Error, Result};
use crate::hijack::Hijacked;
use crate::models::ContainerCreateBody;
use crate::query::Query;

/// What `POST /containers/create` answers.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Created {
    pub id: String,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// Which streams an attach carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttachStreams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Replay what the container already wrote (`logs=1`).
    pub logs: bool,
}

/// `GET /containers/{id}/logs` options.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub since: Option<String>,
    pub until: Option<String>,
    pub timestamps: bool,
    pub tail: Option<String>,
    pub details: bool,
}

/// The stat of a path in a container (the `X-Docker-Container-Path-Stat` header, base64
/// of JSON).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    pub mode: u32,
    pub mtime: String,
    #[serde(rename = "linkTarget", default)]
    pub link_target: String,
}

impl PathStat {
    /// Go's os.ModeDir bit.
    pub fn is_dir(&self) -> bool {
        self.mode & (1 << 31) != 0
    }

    /// Go's os.ModeSymlink bit.
    pub fn is_symlink(&self) -> bool {
        self.mode & (1 << 27) != 0
    }

    /// Decodes the header value.
    pub fn decode(header: &str) -> Result<PathStat> {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(header.trim())
            .map_err(|e| Error::Protocol(format!("bad path stat header: {e}")))?;
        serde_json::from_slice(&raw).map_err(|source| Error::Decode {
            what: "path stat",
            source,
        })
    }
}

fn path(id: &str, rest: &str) -> String {
    format!("/containers/{}{rest}", crate::query::encode(id))
}

impl Client {
    /// `POST /containers/create?name=…[&platform=…]`.
    pub async fn container_create(
        &self,
        name: Option<&str>,
        platform: Option<&str>,
        body: &ContainerCreateBody,
    ) -> Result<Created> {
        let q = Query::new().opt("name", name).opt("platform", platform);
        let resp = self
            .call(
                Method::POST,
                "/containers/create",
                &q,
                Body::json(body),
                Some("application/json"),
            )
            .await?;
        json_body(resp, "create response").await
    }

    pub async fn container_start(&self, id: &str) -> Result<()> {
        self.call_empty(Method::POST, &path(id, "/start"), &Query::new())
            .await
    }

    /// `POST /containers/{id}/wait?condition=…`: answers when the condition is met; the
    /// response is returned unread so the caller can start the container meanwhile.
    pub async fn container_wait_request(
        &self,
        id: &str,
        condition: Option<&str>,
    ) -> Result<Response<Incoming>> {
        let q = Query::new().opt("condition", condition);
        self.call(Method::POST, &path(id, "/wait"), &q, Body::Empty, None)
            .await
    }

    /// Reads the wait answer: the exit code, or the daemon's `Error.Message`.
    pub async fn container_wait_result(resp: Response<Incoming>) -> Result<i64> {
        let v: Value = json_body(resp, "wait response").await?;
        if let Some(msg) = v
            .get("Error")
            .and_then(|e| e.get("Message"))
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
        {
            return Err(Error::Daemon {
                status: 200,
                message: msg.to_owned(),
            });
        }
        Ok(v.get("StatusCode").and_then(Value::as_i64).unwrap_or(0))
    }

    pub async fn container_wait(&self, id: &str, condition: Option<&str>) -> Result<i64> {
        let resp = self.container_wait_request(id, condition).await?;
        Client::container_wait_result(resp).await
    }

    /// `POST /containers/{id}/attach?stream=1&…` (hijacked).
    pub async fn container_attach(
        &self,
        id: &str,
        s: AttachStreams,
        detach_keys: Option<&str>,
    ) -> Result<Hijacked> {
        let q = Query::new()
            .flag("stream", true)
            .flag("stdin", s.stdin)
            .flag("stdout", s.stdout)
            .flag("stderr", s.stderr)
            .flag("logs", s.logs)
            .opt("detachKeys", detach_keys);
        self.hijack("attach", Method::POST, &path(id, "/attach"), &q, None)
            .await
    }

    pub async fn container_resize(&self, id: &str, h: u16, w: u16) -> Result<()> {
        let q = Query::new().add("h", h.to_string()).add("w", w.to_string());
        self.call_empty(Method::POST, &path(id, "/resize"), &q)
            .await
    }

    pub async fn container_stop(
        &self,
        id: &str,
        t: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let q = Query::new()
            .opt("t", t.map(|t| t.to_string()))
            .opt("signal", signal);
        self.call_empty(Method::POST, &path(id, "/stop"), &q).await
    }

    pub async fn container_restart(
        &self,
        id: &str,
        t: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let q = Query::new()
            .opt("t", t.map(|t| t.to_string()))
            .opt("signal", signal);
        self.call_empty(Method::POST, &path(id, "/restart"), &q)
            .await
    }

    pub async fn container_kill(&self, id: &str, signal: Option<&str>) -> Result<()> {
        let q = Query::new().opt("signal", signal);
        self.call_empty(Method::POST, &path(id, "/kill"), &q).await
    }

    pub async fn container_remove(&self, id: &str, force: bool, volumes: bool) -> Result<()> {
        let q = Query::new().flag("force", force).flag("v", volumes);
        self.call_empty(Method::DELETE, &path(id, ""), &q).await
    }

    pub async fn container_pause(&self, id: &str) -> Result<()> {
        self.call_empty(Method::POST, &path(id, "/pause"), &Query::new())
            .await
    }

    pub async fn container_unpause(&self, id: &str) -> Result<()> {
        self.call_empty(Method::POST, &path(id, "/unpause"), &Query::new())
            .await
    }

    pub async fn container_rename(&self, id: &str, name: &str) -> Result<()> {
        let q = Query::new().add("name", name);
        self.call_empty(Method::POST, &path(id, "/rename"), &q)
            .await
    }

    /// `GET /containers/json`; `filters` is the JSON map of lists the API takes.
    pub async fn container_list(
        &self,
        all: bool,
        limit: Option<i64>,
        size: bool,
        filters: Option<&str>,
    ) -> Result<Vec<Value>> {
        let q = Query::new()
            .flag("all", all)
            .opt("limit", limit.map(|l| l.to_string()))
            .flag("size", size)
            .opt("filters", filters);
        self.get_json("/containers/json", &q).await
    }

    /// `GET /containers/{id}/json[?size=1]`.
    pub async fn container_inspect(&self, id: &str, size: bool) -> Result<Value> {
        self.get_json(&path(id, "/json"), &Query::new().flag("size", size))
            .await
    }

    /// `GET /containers/{id}/logs`: the streamed body (frames unless the container has a
    /// TTY).
    pub async fn container_logs(&self, id: &str, o: &LogsOptions) -> Result<Response<Incoming>> {
        let q = Query::new()
            .flag("follow", o.follow)
            .flag("stdout", o.stdout)
            .flag("stderr", o.stderr)
            .opt("since", o.since.as_deref())
            .opt("until", o.until.as_deref())
            .flag("timestamps", o.timestamps)
            .flag("details", o.details)
            .opt("tail", o.tail.as_deref());
        self.call(Method::GET, &path(id, "/logs"), &q, Body::Empty, None)
            .await
    }

    pub async fn container_top(&self, id: &str, ps_args: Option<&str>) -> Result<Value> {
        self.get_json(&path(id, "/top"), &Query::new().opt("ps_args", ps_args))
            .await
    }

    pub async fn container_changes(&self, id: &str) -> Result<Option<Vec<Value>>> {
        self.get_json(&path(id, "/changes"), &Query::new()).await
    }

    pub async fn container_update(&self, id: &str, body: &Value) -> Result<Value> {
        self.post_json(&path(id, "/update"), &Query::new(), Some(body))
            .await
    }

    /// `GET /containers/{id}/export`: a tar of the filesystem.
    pub async fn container_export(&self, id: &str) -> Result<Response<Incoming>> {
        self.call(
            Method::GET,
            &path(id, "/export"),
            &Query::new(),
            Body::Empty,
            None,
        )
        .await
    }

    /// `GET /containers/{id}/stats?stream=…`.
    pub async fn container_stats(&self, id: &str, stream: bool) -> Result<Response<Incoming>> {
        let q = Query::new().add("stream", if stream { "1" } else { "0" });
        self.call(Method::GET, &path(id, "/stats"), &q, Body::Empty, None)
            .await
    }

    pub async fn container_prune(&self, filters: Option<&str>) -> Result<Value> {
        self.post_json(
            "/containers/prune",
            &Query::new().opt("filters", filters),
            None,
        )
        .await
    }

    /// `HEAD /containers/{id}/archive?path=…`.
    pub async fn archive_stat(&self, id: &str, p: &str) -> Result<PathStat> {
        let q = Query::new().add("path", p);
        let resp = self
            .call(Method::HEAD, &path(id, "/archive"), &q, Body::Empty, None)
            .await?;
        stat_header(&resp)
    }

    /// `GET /containers/{id}/archive?path=…`: the stat and the tar body.
    pub async fn archive_get(&self, id: &str, p: &str) -> Result<(PathStat, Response<Incoming>)> {
        let q = Query::new().add("path", p);
        let resp = self
            .call(Method::GET, &path(id, "/archive"), &q, Body::Empty, None)
            .await?;
        Ok((stat_header(&resp)?, resp))
    }

    /// `PUT /containers/{id}/archive?path=…&noOverwriteDirNonDir=true`: extracts the tar
    /// `body` into directory `p`.
    pub async fn archive_put(
        &self,
        id: &str,
        p: &str,
        copy_uid_gid: bool,
        body: Body,
    ) -> Result<()> {
        let q = Query::new()
            .add("path", p)
            .add("noOverwriteDirNonDir", "true")
            .flag("copyUIDGID", copy_uid_gid);
        let resp = self
            .call(
                Method::PUT,
                &path(id, "/archive"),
                &q,
                body,
                Some("application/x-tar"),
            )
            .await?;
        read_all(resp).await?;
        Ok(())
    }

    /// `POST /commit?container=…`.
    pub async fn commit(&self, q: &Query, config: Option<&Value>) -> Result<Value> {
        self.post_json("/commit", q, config).await
    }
}

fn stat_header(resp: &Response<Incoming>) -> Result<PathStat> {
    let h = resp
        .headers()
        .get("x-docker-container-path-stat")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::Protocol("no X-Docker-Container-Path-Stat header".into()))?;
    PathStat::decode(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_stat_header() {
        use base64::Engine as _;
        let json = r#"{"name":"etc","size":4096,"mode":2147484141,"mtime":"2024-01-01T00:00:00Z","linkTarget":""}"#;
        let h = base64::engine::general_purpose::STANDARD.encode(json);
        let s = PathStat::decode(&h).unwrap();
        assert_eq!(s.name, "etc");
        assert!(s.is_dir());
        assert!(!s.is_symlink());
        assert!(PathStat::decode("!!").is_err());
    }
}
