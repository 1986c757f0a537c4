//! Hijacked connections (attach, exec start): the request asks for `Upgrade: tcp`, the
//! daemon answers `101` and the socket then carries raw bytes both ways: the container's
//! stdin one way, its output (multiplexed frames, or raw with a TTY) the other.

use http::{header, Method};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;

use crate::body::Body;
use crate::client::{check, Client};
use crate::error::{Error, Result};
use crate::query::Query;

/// The bidirectional stream of an upgraded connection (`AsyncRead + AsyncWrite`).
pub type Hijacked = TokioIo<Upgraded>;

impl Client {
    /// Sends `method path` asking for an upgrade and returns the raw stream.
    pub async fn hijack(
        &self,
        what: &'static str,
        method: Method,
        path: &str,
        query: &Query,
        body: Option<&serde_json::Value>,
    ) -> Result<Hijacked> {
        let mut b = self
            .request_builder(method, path, query)
            .await?
            .header(header::CONNECTION, "Upgrade")
            .header(header::UPGRADE, "tcp");
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::json(v)
            }
            None => Body::Empty,
        };
        let resp = check(self.send(b.body(body)?).await?).await?;
        if resp.status() != http::StatusCode::SWITCHING_PROTOCOLS {
            return Err(Error::NoUpgrade(what, resp.status().as_u16()));
        }
        let upgraded = hyper::upgrade::on(resp).await?;
        Ok(TokioIo::new(upgraded))
    }
}
