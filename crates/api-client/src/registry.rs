//! The registry calls of the Engine API with credentials: pull and push carrying an
//! `X-Registry-Auth` header (base64 JSON the caller makes), and `POST /auth`, which
//! asks the daemon to check a login against a registry.

use http::Method;
use hyper::body::Incoming;
use hyper::Response;
use serde_json::Value;

use crate::body::Body;
use crate::client::{check, json_body, Client};
use crate::query::{encode, Query};
use crate::Result;

impl Client {
    /// `POST /images/create?fromImage=…&tag=…&platform=…` with `X-Registry-Auth` (`None`:
    /// anonymous). The progress stream, JSON lines.
    pub async fn image_pull_auth(
        &self,
        image: &str,
        tag: Option<&str>,
        platform: Option<&str>,
        auth: Option<&str>,
    ) -> Result<Response<Incoming>> {
        let q = Query::new()
            .add("fromImage", image)
            .opt("tag", tag)
            .opt("platform", platform);
        let mut b = self
            .request_builder(Method::POST, "/images/create", &q)
            .await?;
        if let Some(a) = auth {
            b = b.header("X-Registry-Auth", a);
        }
        check(self.send(b.body(Body::Empty)?).await?).await
    }

    /// `POST /images/{name}/push?tag=…` with `X-Registry-Auth` (`{}` when anonymous).
    pub async fn image_push_auth(
        &self,
        name: &str,
        tag: Option<&str>,
        auth: Option<&str>,
    ) -> Result<Response<Incoming>> {
        let q = Query::new().opt("tag", tag);
        let b = self
            .request_builder(Method::POST, &format!("/images/{}/push", encode(name)), &q)
            .await?
            .header("X-Registry-Auth", auth.unwrap_or("e30="));
        check(self.send(b.body(Body::Empty)?).await?).await
    }

    /// `POST /auth`: `{"Status":"Login Succeeded",…}`, or the daemon's refusal (401 for
    /// credentials the registry does not accept).
    pub async fn registry_login(&self, username: &str, password: &str, server: &str) -> Result<Value> {
        let body = serde_json::json!({"username": username, "password": password, "serveraddress": server});
        let resp = self.post("/auth", &Query::new(), Some(&body)).await?;
        json_body(resp, "auth response").await
    }
}
