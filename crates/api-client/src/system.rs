//! `/version`, `/info`, `/system/df`, `/events`, `/build/prune` (network prune is in [`crate::networks`]).

use http::{Method, Response};
use hyper::body::Incoming;
use serde_json::Value;

use crate::body::Body;
use crate::client::Client;
use crate::error::Result;
use crate::query::Query;

impl Client {
    pub async fn system_version(&self) -> Result<Value> {
        self.get_json("/version", &Query::new()).await
    }

    pub async fn system_info(&self) -> Result<Value> {
        self.get_json("/info", &Query::new()).await
    }

    pub async fn system_df(&self) -> Result<Value> {
        self.get_json("/system/df", &Query::new()).await
    }

    /// `GET /events?since&until&filters`: JSON lines until `until` or forever.
    pub async fn events(
        &self,
        since: Option<&str>,
        until: Option<&str>,
        filters: Option<&str>,
    ) -> Result<Response<Incoming>> {
        let q = Query::new()
            .opt("since", since)
            .opt("until", until)
            .opt("filters", filters);
        self.call(Method::GET, "/events", &q, Body::Empty, None)
            .await
    }

    pub async fn build_prune(&self, all: bool) -> Result<Value> {
        self.post_json("/build/prune", &Query::new().flag("all", all), None)
            .await
    }
}
