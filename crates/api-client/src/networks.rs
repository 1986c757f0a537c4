//! `/networks/...`: list, inspect, create, remove, connect, disconnect, prune. Request
//! bodies are the `bollard-stubs` models; answers are `serde_json::Value` because the CLI
//! renders what the daemon said (`inspect` prints every field, `ls --format` may name
//! any).

use http::Method;
use serde_json::Value;

use crate::body::Body;
use crate::client::{json_body, read_all, Client};
use crate::error::Result;
use crate::models::{
    EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};
use crate::query::Query;

fn path(id: &str) -> String {
    format!("/networks/{}", crate::query::encode(id))
}

impl Client {
    /// `GET /networks?filters=…`: an array of networks.
    pub async fn network_list(&self, filters: Option<&str>) -> Result<Value> {
        self.get_json("/networks", &Query::new().opt("filters", filters))
            .await
    }

    /// `GET /networks/{id}`: the network with its containers.
    pub async fn network_inspect(&self, id: &str) -> Result<Value> {
        self.get_json(&path(id), &Query::new()).await
    }

    /// `POST /networks/create`: `{"Id": …, "Warning": …}`.
    pub async fn network_create(&self, body: &NetworkCreateRequest) -> Result<Value> {
        let resp = self
            .call(
                Method::POST,
                "/networks/create",
                &Query::new(),
                Body::json(body),
                Some("application/json"),
            )
            .await?;
        json_body(resp, "network create response").await
    }

    /// `DELETE /networks/{id}`; the daemon answers 403 for a network with containers on
    /// it, 404 for a missing one.
    pub async fn network_remove(&self, id: &str) -> Result<()> {
        self.call_empty(Method::DELETE, &path(id), &Query::new())
            .await
    }

    /// `POST /networks/{id}/connect`.
    pub async fn network_connect(
        &self,
        id: &str,
        container: &str,
        endpoint_config: Option<EndpointSettings>,
    ) -> Result<()> {
        let body = NetworkConnectRequest {
            container: container.to_owned(),
            endpoint_config,
        };
        self.post_body(&format!("{}/connect", path(id)), &body)
            .await
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn network_disconnect(&self, id: &str, container: &str, force: bool) -> Result<()> {
        let body = NetworkDisconnectRequest {
            container: container.to_owned(),
            force: Some(force),
        };
        self.post_body(&format!("{}/disconnect", path(id)), &body)
            .await
    }

    /// `POST /networks/prune?filters=…`: `{"NetworksDeleted": […]}`.
    pub async fn network_prune(&self, filters: Option<&str>) -> Result<Value> {
        self.post_json(
            "/networks/prune",
            &Query::new().opt("filters", filters),
            None,
        )
        .await
    }

    /// A POST of a JSON body whose answer matters only as success.
    async fn post_body<T: serde::Serialize>(&self, path: &str, body: &T) -> Result<()> {
        let resp = self
            .call(
                Method::POST,
                path,
                &Query::new(),
                Body::json(body),
                Some("application/json"),
            )
            .await?;
        read_all(resp).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{EndpointIpamConfig, Ipam, IpamConfig};

    #[test]
    fn ids_are_escaped_in_the_path() {
        assert_eq!(path("front"), "/networks/front");
        assert_eq!(path("a b"), "/networks/a%20b");
    }

    #[test]
    fn create_body_as_the_engine_api_takes_it() {
        let body = NetworkCreateRequest {
            name: "n".into(),
            driver: Some("bridge".into()),
            internal: Some(true),
            ipam: Some(Ipam {
                driver: Some("default".into()),
                config: Some(vec![IpamConfig {
                    subnet: Some("10.9.0.0/24".into()),
                    ip_range: Some("10.9.0.128/25".into()),
                    gateway: Some("10.9.0.1".into()),
                    ..Default::default()
                }]),
                options: None,
            }),
            labels: Some([("k".to_owned(), "1".to_owned())].into()),
            ..Default::default()
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["Name"], "n");
        assert_eq!(v["Driver"], "bridge");
        assert_eq!(v["Internal"], true);
        assert_eq!(v["IPAM"]["Config"][0]["Subnet"], "10.9.0.0/24");
        assert_eq!(v["IPAM"]["Config"][0]["IPRange"], "10.9.0.128/25");
        assert_eq!(v["IPAM"]["Config"][0]["Gateway"], "10.9.0.1");
        assert_eq!(v["Labels"]["k"], "1");
    }

    #[test]
    fn connect_and_disconnect_bodies() {
        let body = NetworkConnectRequest {
            container: "c".into(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(vec!["web".into()]),
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: Some("10.9.0.5".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["Container"], "c");
        assert_eq!(v["EndpointConfig"]["Aliases"][0], "web");
        assert_eq!(v["EndpointConfig"]["IPAMConfig"]["IPv4Address"], "10.9.0.5");
        let body = NetworkDisconnectRequest {
            container: "c".into(),
            force: Some(true),
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v, serde_json::json!({"Container": "c", "Force": true}));
    }
}
