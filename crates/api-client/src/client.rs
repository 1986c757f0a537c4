//! The connection: one HTTP/1.1 connection per request over the unix socket (what a CLI
//! needs; nothing to pool), the version prefix negotiated once with `HEAD /_ping`, and
//! the mapping of non-success answers to [`Error::Daemon`].

use std::sync::OnceLock;

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

use crate::body::Body;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::query::Query;
use crate::version::ApiVersion;

/// An Engine API client. Cheap to build: nothing is sent before the first request.
#[derive(Debug, Clone)]
pub struct Client {
    host: Host,
    version: OnceLock<ApiVersion>,
}

/// What `HEAD /_ping` told.
#[derive(Debug, Clone)]
pub struct Ping {
    pub api_version: Option<String>,
    pub os_type: Option<String>,
}

impl Client {
    pub fn new(host: Host) -> Client {
        Client {
            host,
            version: OnceLock::new(),
        }
    }

    /// `--host`, else `BERTH_HOST`, else `DOCKER_HOST`, else the default socket.
    pub fn from_env(host: Option<&str>) -> Result<Client> {
        Ok(Client::new(Host::from_env(host)?))
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Opens a connection; the connection task runs on the current runtime and keeps
    /// upgrades possible (attach, exec).
    async fn sender(&self) -> Result<hyper::client::conn::http1::SendRequest<Body>> {
        let path = self.host.path();
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| Error::Connect {
                path: path.to_owned(),
                source,
            })?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // The connection ends when the response (or upgraded stream) is dropped;
            // errors show on the request side.
            let _ = conn.with_upgrades().await;
        });
        Ok(sender)
    }

    /// Sends `req` as is (the path already versioned), whatever the status.
    pub async fn send(&self, req: Request<Body>) -> Result<Response<Incoming>> {
        let mut sender = self.sender().await?;
        Ok(sender.send_request(req).await?)
    }

    /// `HEAD /_ping` (unversioned).
    pub async fn ping(&self) -> Result<Ping> {
        let req = Request::head("/_ping")
            .header(header::HOST, "localhost")
            .body(Body::Empty)?;
        let resp = self.send(req).await?;
        let get =
            |h: &HeaderMap, k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let ping = Ping {
            api_version: get(resp.headers(), "api-version"),
            os_type: get(resp.headers(), "ostype"),
        };
        if !resp.status().is_success() {
            return Err(Error::Daemon {
                status: resp.status().as_u16(),
                message: format!("ping answered {}", resp.status()),
            });
        }
        Ok(ping)
    }

    /// The negotiated API version (pings the daemon the first time).
    pub async fn version(&self) -> Result<ApiVersion> {
        if let Some(v) = self.version.get() {
            return Ok(*v);
        }
        let ping = self.ping().await?;
        let v = ApiVersion::negotiate(ping.api_version.as_deref());
        Ok(*self.version.get_or_init(|| v))
    }

    /// Builds `/vX.Y{path}{query}`.
    pub async fn request_builder(
        &self,
        method: Method,
        path: &str,
        query: &Query,
    ) -> Result<http::request::Builder> {
        let v = self.version().await?;
        Ok(Request::builder()
            .method(method)
            .uri(format!("/v{v}{path}{}", query.as_str()))
            .header(header::HOST, "localhost"))
    }

    /// A request whose answer must be a success; the daemon's refusal becomes
    /// [`Error::Daemon`].
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Body,
        content_type: Option<&str>,
    ) -> Result<Response<Incoming>> {
        let mut b = self.request_builder(method, path, query).await?;
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        let resp = self.send(b.body(body)?).await?;
        check(resp).await
    }

    /// GET returning JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, query: &Query) -> Result<T> {
        let resp = self
            .call(Method::GET, path, query, Body::Empty, None)
            .await?;
        json_body(resp, "response").await
    }

    /// POST of a JSON body (or none), returning JSON.
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        let resp = self.post(path, query, body).await?;
        json_body(resp, "response").await
    }

    /// POST of a JSON body (or none), the answer's body left unread.
    pub async fn post(
        &self,
        path: &str,
        query: &Query,
        body: Option<&serde_json::Value>,
    ) -> Result<Response<Incoming>> {
        match body {
            Some(v) => {
                self.call(
                    Method::POST,
                    path,
                    query,
                    Body::json(v),
                    Some("application/json"),
                )
                .await
            }
            None => {
                self.call(Method::POST, path, query, Body::Empty, None)
                    .await
            }
        }
    }

    /// A request whose answer body does not matter beyond success.
    pub async fn call_empty(&self, method: Method, path: &str, query: &Query) -> Result<()> {
        let resp = self.call(method, path, query, Body::Empty, None).await?;
        read_all(resp).await?;
        Ok(())
    }
}

/// Turns a non-success answer into [`Error::Daemon`] with the daemon's message.
pub async fn check(resp: Response<Incoming>) -> Result<Response<Incoming>> {
    let status = resp.status();
    if status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS {
        return Ok(resp);
    }
    let body = read_all(resp).await.unwrap_or_default();
    Err(Error::Daemon {
        status: status.as_u16(),
        message: daemon_message(&body, status),
    })
}

/// `{"message": "…"}` as the Engine API sends errors, else the body, else the status.
pub fn daemon_message(body: &[u8], status: StatusCode) -> String {
    #[derive(serde::Deserialize)]
    struct Msg {
        message: String,
    }
    if let Ok(m) = serde_json::from_slice::<Msg>(body) {
        return m.message;
    }
    let text = String::from_utf8_lossy(body).trim().to_owned();
    if text.is_empty() {
        status.to_string()
    } else {
        text
    }
}

/// The whole body.
pub async fn read_all(resp: Response<Incoming>) -> Result<Bytes> {
    Ok(resp.into_body().collect().await?.to_bytes())
}

/// The whole body, decoded.
pub async fn json_body<T: DeserializeOwned>(
    resp: Response<Incoming>,
    what: &'static str,
) -> Result<T> {
    let bytes = read_all(resp).await?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Decode { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_messages() {
        assert_eq!(
            daemon_message(
                br#"{"message":"No such container: x"}"#,
                StatusCode::NOT_FOUND
            ),
            "No such container: x"
        );
        assert_eq!(
            daemon_message(b"page not found\n", StatusCode::NOT_FOUND),
            "page not found"
        );
        assert_eq!(
            daemon_message(b"", StatusCode::BAD_GATEWAY),
            "502 Bad Gateway"
        );
    }
}
