//! `/containers/{id}/exec` and `/exec/{id}/...`: a process run inside a container.

use http::Method;
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::Result;
use crate::hijack::Hijacked;
use crate::models::ExecConfig;
use crate::query::Query;

impl Client {
    /// `POST /containers/{id}/exec`: the exec's id.
    pub async fn exec_create(&self, container: &str, config: &ExecConfig) -> Result<String> {
        let body = serde_json::to_value(config).expect("exec config serializes");
        let v: Value = self
            .post_json(
                &format!("/containers/{}/exec", crate::query::encode(container)),
                &Query::new(),
                Some(&body),
            )
            .await?;
        Ok(v.get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    /// `POST /exec/{id}/start` with `Detach: false`, hijacked.
    pub async fn exec_start_attached(&self, id: &str, tty: bool) -> Result<Hijacked> {
        let body = json!({"Detach": false, "Tty": tty});
        self.hijack(
            "exec",
            Method::POST,
            &format!("/exec/{id}/start"),
            &Query::new(),
            Some(&body),
        )
        .await
    }

    /// `POST /exec/{id}/start` with `Detach: true`: answers once the process started.
    pub async fn exec_start_detached(&self, id: &str, tty: bool) -> Result<()> {
        let body = json!({"Detach": true, "Tty": tty});
        let resp = self
            .post(&format!("/exec/{id}/start"), &Query::new(), Some(&body))
            .await?;
        crate::client::read_all(resp).await?;
        Ok(())
    }

    pub async fn exec_resize(&self, id: &str, h: u16, w: u16) -> Result<()> {
        let q = Query::new().add("h", h.to_string()).add("w", w.to_string());
        self.call_empty(Method::POST, &format!("/exec/{id}/resize"), &q)
            .await
    }

    /// `GET /exec/{id}/json`.
    pub async fn exec_inspect(&self, id: &str) -> Result<Value> {
        self.get_json(&format!("/exec/{id}/json"), &Query::new())
            .await
    }
}
