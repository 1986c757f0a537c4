//! Hijacked connections (attach, exec start): the client asks to upgrade
//! (`Upgrade: tcp`), the daemon answers `101 UPGRADED` and the connection carries raw
//! stdio both ways. Without the upgrade headers the output is sent as the response body.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use hyper_util::rt::TokioIo;

pub const RAW_STREAM: &str = "application/vnd.docker.raw-stream";
pub const MULTIPLEXED_STREAM: &str = "application/vnd.docker.multiplexed-stream";

pub type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

pub fn wants_upgrade(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"))
}

/// Answers 101 and runs `f` on the upgraded connection once the client has it.
pub fn upgrade<F, Fut>(mut req: Request, tty: bool, f: F) -> Response
where
    F: FnOnce(Upgraded) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let on = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on.await {
            Ok(u) => f(TokioIo::new(u)).await,
            Err(e) => tracing::debug!("upgrade failed: {e}"),
        }
    });
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if tty { RAW_STREAM } else { MULTIPLEXED_STREAM }),
    );
    resp
}
