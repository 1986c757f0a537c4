//! `/images/...`: list, inspect, history, tag, remove, prune, pull/push, save/load,
//! import.

use http::{Method, Response};
use hyper::body::Incoming;
use serde_json::Value;

use crate::body::Body;
use crate::client::{json_body, read_all, Client};
use crate::error::Result;
use crate::query::{encode, Query};

impl Client {
    pub async fn image_list(&self, all: bool, filters: Option<&str>) -> Result<Vec<Value>> {
        let q = Query::new().flag("all", all).opt("filters", filters);
        self.get_json("/images/json", &q).await
    }

    pub async fn image_inspect(&self, name: &str) -> Result<Value> {
        self.get_json(&format!("/images/{}/json", encode(name)), &Query::new())
            .await
    }

    pub async fn image_history(&self, name: &str) -> Result<Vec<Value>> {
        self.get_json(&format!("/images/{}/history", encode(name)), &Query::new())
            .await
    }

    pub async fn image_tag(&self, name: &str, repo: &str, tag: Option<&str>) -> Result<()> {
        let q = Query::new().add("repo", repo).opt("tag", tag);
        self.call_empty(Method::POST, &format!("/images/{}/tag", encode(name)), &q)
            .await
    }

    pub async fn image_remove(&self, name: &str, force: bool) -> Result<Vec<Value>> {
        let q = Query::new().flag("force", force);
        let resp = self
            .call(
                Method::DELETE,
                &format!("/images/{}", encode(name)),
                &q,
                Body::Empty,
                None,
            )
            .await?;
        json_body(resp, "delete response").await
    }

    pub async fn image_prune(&self, filters: Option<&str>) -> Result<Value> {
        self.post_json("/images/prune", &Query::new().opt("filters", filters), None)
            .await
    }

    /// `POST /images/create?fromImage=…&tag=…`: the progress stream (JSON lines).
    pub async fn image_pull(
        &self,
        image: &str,
        tag: Option<&str>,
        platform: Option<&str>,
    ) -> Result<Response<Incoming>> {
        let q = Query::new()
            .add("fromImage", image)
            .opt("tag", tag)
            .opt("platform", platform);
        self.call(Method::POST, "/images/create", &q, Body::Empty, None)
            .await
    }

    /// `POST /images/{name}/push?tag=…` (with an empty registry auth, as for an
    /// anonymous push).
    pub async fn image_push(&self, name: &str, tag: Option<&str>) -> Result<Response<Incoming>> {
        let q = Query::new().opt("tag", tag);
        let b = self
            .request_builder(Method::POST, &format!("/images/{}/push", encode(name)), &q)
            .await?
            // "{}" base64: the daemon requires the header.
            .header("X-Registry-Auth", "e30=");
        crate::client::check(self.send(b.body(Body::Empty)?).await?).await
    }

    /// `GET /images/get?names=…`: a tar archive.
    pub async fn image_save(&self, names: &[String]) -> Result<Response<Incoming>> {
        let mut q = Query::new();
        for n in names {
            q = q.add("names", n);
        }
        self.call(Method::GET, "/images/get", &q, Body::Empty, None)
            .await
    }

    /// `POST /images/load?quiet=…`: JSON lines.
    pub async fn image_load(&self, body: Body, quiet: bool) -> Result<Response<Incoming>> {
        let q = Query::new().add("quiet", if quiet { "1" } else { "0" });
        self.call(
            Method::POST,
            "/images/load",
            &q,
            body,
            Some("application/x-tar"),
        )
        .await
    }

    /// `POST /build` with the context tar as the body and the options in `q`: the build
    /// stream (JSON lines), unread.
    /// `registry_config` is the `X-Registry-Config` header: the logins FROM pulls may use.
    pub async fn image_build(&self, body: Body, q: &Query, registry_config: Option<&str>) -> Result<Response<Incoming>> {
        let mut b = self.request_builder(Method::POST, "/build", q).await?;
        b = b.header(http::header::CONTENT_TYPE, "application/x-tar");
        if let Some(c) = registry_config {
            b = b.header("X-Registry-Config", c);
        }
        crate::client::check(self.send(b.body(body)?).await?).await
    }

    /// `POST /images/create?fromSrc=-&repo=…`: JSON lines.
    pub async fn image_import(
        &self,
        body: Body,
        repo: Option<&str>,
        tag: Option<&str>,
        changes: &[String],
        message: Option<&str>,
    ) -> Result<Response<Incoming>> {
        let mut q = Query::new()
            .add("fromSrc", "-")
            .opt("repo", repo)
            .opt("tag", tag)
            .opt("message", message);
        for c in changes {
            q = q.add("changes", c);
        }
        self.call(
            Method::POST,
            "/images/create",
            &q,
            body,
            Some("application/x-tar"),
        )
        .await
    }

    /// Reads a whole response body, for callers that only need success.
    pub async fn drain(resp: Response<Incoming>) -> Result<()> {
        read_all(resp).await?;
        Ok(())
    }
}
