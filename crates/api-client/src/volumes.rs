//! `/volumes/...`: create, list, inspect, remove, prune. The request body is the
//! `bollard-stubs` model; answers are `serde_json::Value` because the CLI renders what
//! the daemon said (`inspect` prints every field, `ls --format` may name any).

use http::Method;
use serde_json::Value;

use crate::body::Body;
use crate::client::{json_body, Client};
use crate::error::Result;
use crate::models::VolumeCreateRequest;
use crate::query::Query;

fn path(name: &str) -> String {
    format!("/volumes/{}", crate::query::encode(name))
}

impl Client {
    /// `POST /volumes/create`: the created (or, for an existing name, the existing)
    /// volume.
    pub async fn volume_create(&self, body: &VolumeCreateRequest) -> Result<Value> {
        let resp = self
            .call(
                Method::POST,
                "/volumes/create",
                &Query::new(),
                Body::json(body),
                Some("application/json"),
            )
            .await?;
        json_body(resp, "volume create response").await
    }

    /// `GET /volumes?filters=…`: `{"Volumes": […], "Warnings": […]}`.
    pub async fn volume_list(&self, filters: Option<&str>) -> Result<Value> {
        self.get_json("/volumes", &Query::new().opt("filters", filters))
            .await
    }

    /// `GET /volumes/{name}`.
    pub async fn volume_inspect(&self, name: &str) -> Result<Value> {
        self.get_json(&path(name), &Query::new()).await
    }

    /// `DELETE /volumes/{name}[?force=1]`; the daemon answers 409 for a volume in use.
    pub async fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        self.call_empty(
            Method::DELETE,
            &path(name),
            &Query::new().flag("force", force),
        )
        .await
    }

    /// `POST /volumes/prune?filters=…`: `{"VolumesDeleted": […], "SpaceReclaimed": N}`.
    pub async fn volume_prune(&self, filters: Option<&str>) -> Result<Value> {
        self.post_json(
            "/volumes/prune",
            &Query::new().opt("filters", filters),
            None,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_the_path() {
        assert_eq!(path("data"), "/volumes/data");
        assert_eq!(path("a b"), "/volumes/a%20b");
    }

    #[test]
    fn create_body_as_the_engine_api_takes_it() {
        let body = VolumeCreateRequest {
            name: Some("v".into()),
            driver: Some("local".into()),
            labels: Some([("k".to_owned(), "1".to_owned())].into()),
            ..Default::default()
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["Name"], "v");
        assert_eq!(v["Driver"], "local");
        assert_eq!(v["Labels"]["k"], "1");
    }
}
