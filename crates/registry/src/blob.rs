//! Blobs over the wire. Download: `GET /v2/<name>/blobs/<digest>` (redirects to blob
//! storage followed), streamed into the image store, which hashes while it writes and
//! publishes only a blob whose digest matches; a connection that breaks is resumed with
//! `Range` after a backoff. Upload: `HEAD` first, a cross-repository mount where one may
//! work, then a monolithic `PUT` or chunked `PATCH`es and a closing `PUT ?digest=`.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_image::manifest::Descriptor;
use berth_image::{Digest, StagedBlob, Store};
use reqwest::blocking::{Body, Response};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::StatusCode;

use crate::client::{chain, Session};
use crate::error::Result;
use crate::progress::{Event, Observer, Status};

/// `HEAD /v2/<name>/blobs/<digest>`: whether the registry has the blob.
pub fn exists(s: &Session, digest: &Digest) -> Result<bool> {
    let what = format!("blob {digest}");
    let resp = s.send(&what, |c| c.head(s.url(&format!("blobs/{digest}"))))?;
    match resp.status() {
        StatusCode::OK => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        _ => Err(s.unexpected(&what, resp)),
    }
}

/// Downloads the blob into the store's staging area (see `BlobStore::stage`): nothing is
/// kept unless all of it arrived and it hashes to its digest, and the caller makes it
/// durable and publishes it.
pub fn download(s: &Session, store: &Store, d: &Descriptor, obs: &dyn Observer) -> Result<StagedBlob> {
    let reader = BlobReader {
        s,
        d,
        obs,
        pos: 0,
        resp: None,
        attempts: 0,
        retried_at: 0,
        last_report: Instant::now() - Duration::from_secs(1),
        error: None,
    };
    let mut reader = reader;
    let result = store.blobs().stage(&mut reader, Some(&d.digest));
    // The session's error (unreachable, cancelled) says more than the store's "read".
    if let Some(e) = reader.error.take() {
        return Err(e);
    }
    result.map_err(|e| s.scope.store(format!("blob {}", d.digest), e))
}

/// Reads a blob's bytes from the registry, resuming after broken connections, never
/// more than the descriptor's size.
struct BlobReader<'a> {
    s: &'a Session,
    d: &'a Descriptor,
    obs: &'a dyn Observer,
    pos: u64,
    resp: Option<Response>,
    attempts: u32,
    /// Where the last retry started: attempts count again once a retry made progress.
    retried_at: u64,
    last_report: Instant,
    /// Why reading failed, for `download` to return instead of the store's io error.
    error: Option<crate::Error>,
}

impl BlobReader<'_> {
    fn fail(&mut self, e: crate::Error) -> io::Error {
        let msg = e.to_string();
        self.error = Some(e);
        io::Error::other(msg)
    }

    /// GET from `pos` on (a `Range` request after the first byte).
    fn open(&mut self) -> Result<Response, crate::Error> {
        let what = format!("blob {}", self.d.digest);
        let pos = self.pos;
        let url = self.s.url(&format!("blobs/{}", self.d.digest));
        let resp = self.s.send(&what, |c| {
            let rb = c.get(&url);
            if pos > 0 {
                rb.header(RANGE, format!("bytes={pos}-"))
            } else {
                rb
            }
        })?;
        match resp.status() {
            StatusCode::OK if pos == 0 => Ok(resp),
            StatusCode::PARTIAL_CONTENT if pos > 0 => Ok(resp),
            // A registry that ignores Range: read from the start and skip what we have.
            StatusCode::OK => {
                let mut resp = resp;
                let skipped = io::copy(&mut (&mut resp).take(pos), &mut io::sink())
                    .map_err(|e| self.s.scope.unreachable(format!("{what}: {e}")))?;
                if skipped != pos {
                    return Err(self.s.scope.unreachable(format!("{what}: cut short again")));
                }
                Ok(resp)
            }
            _ => Err(self.s.unexpected(&what, resp)),
        }
    }
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.obs.cancelled() {
                let e = self.s.scope.cancelled();
                return Err(self.fail(e));
            }
            if self.resp.is_none() {
                match self.open() {
                    Ok(r) => self.resp = Some(r),
                    Err(e) => return Err(self.fail(e)),
                }
            }
            let Some(resp) = self.resp.as_mut() else {
                continue;
            };
            // Never take more than the descriptor says: a registry sending more is lying.
            let room = (self.d.size.saturating_sub(self.pos) as usize).min(buf.len());
            let want = if room == 0 { 1.min(buf.len()) } else { room };
            match resp.read(&mut buf[..want]) {
                Ok(0) if self.pos < self.d.size => {
                    // Cut short: the connection closed early. Resume.
                    self.resp = None;
                    if let Err(e) = self.retry("connection closed early".into()) {
                        return Err(self.fail(e));
                    }
                }
                Ok(0) => return Ok(0),
                Ok(n) => {
                    if self.pos + n as u64 > self.d.size {
                        let e = self.s.scope.invalid(format!(
                            "blob {}: the registry sent more than its {} bytes",
                            self.d.digest, self.d.size
                        ));
                        return Err(self.fail(e));
                    }
                    self.pos += n as u64;
                    if self.last_report.elapsed() >= Duration::from_millis(100)
                        || self.pos == self.d.size
                    {
                        self.last_report = Instant::now();
                        self.obs.event(Event {
                            digest: self.d.digest.clone(),
                            status: Status::Downloading {
                                current: self.pos,
                                total: self.d.size,
                            },
                        });
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.resp = None;
                    if let Err(e) = self.retry(chain(&e)) {
                        return Err(self.fail(e));
                    }
                }
            }
        }
    }
}

impl BlobReader<'_> {
    /// Waits before resuming, or gives up after the configured attempts.
    fn retry(&mut self, why: String) -> Result<(), crate::Error> {
        if self.pos > self.retried_at {
            self.attempts = 0;
        }
        self.retried_at = self.pos;
        self.attempts += 1;
        if self.attempts >= self.s.opts.attempts.max(1) {
            return Err(self.s.scope.unreachable(format!(
                "blob {}: {why} at byte {} of {} (after {} attempts)",
                self.d.digest, self.pos, self.d.size, self.attempts
            )));
        }
        self.obs.event(Event {
            digest: self.d.digest.clone(),
            status: Status::Retrying {
                at: self.pos,
                attempt: self.attempts,
            },
        });
        std::thread::sleep(self.s.backoff(self.attempts));
        Ok(())
    }
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploaded {
    Existed,
    Mounted(String),
    Pushed,
}

/// Uploads one blob from the store: skipped if the registry has it, mounted from one of
/// `mount_from` (repositories of the same registry that may have it) if that works,
/// otherwise sent whole (`chunk` `None`) or in chunks of `chunk` bytes.
pub fn upload(
    s: &Session,
    store: &Store,
    d: &Descriptor,
    mount_from: &[String],
    chunk: Option<u64>,
    obs: &dyn Observer,
) -> Result<Uploaded> {
    let ev = |status| {
        obs.event(Event {
            digest: d.digest.clone(),
            status,
        })
    };
    ev(Status::Preparing);
    if exists(s, &d.digest)? {
        ev(Status::LayerExists);
        return Ok(Uploaded::Existed);
    }
    let path = store.blobs().path(&d.digest);
    if !store.blobs().exists(&d.digest) {
        return Err(s.scope.invalid(format!(
            "blob {} is not in the local store (was the image pulled without it?)",
            d.digest
        )));
    }
    let what = format!("upload blob {}", d.digest);
    let mut location = None;
    for from in mount_from {
        let resp = s.send(&what, |c| {
            c.post(s.url("blobs/uploads/"))
                .query(&[("mount", d.digest.to_string()), ("from", from.clone())])
                .header(CONTENT_LENGTH, "0")
        })?;
        match resp.status() {
            StatusCode::CREATED => {
                ev(Status::Mounted { from: from.clone() });
                return Ok(Uploaded::Mounted(from.clone()));
            }
            // Not mountable from there: the answer is a new upload session; use it.
            StatusCode::ACCEPTED => {
                location = Some(location_of(s, &what, &resp)?);
                break;
            }
            _ => {}
        }
    }
    let location = match location {
        Some(l) => l,
        None => {
            let resp = s.send(&what, |c| {
                c.post(s.url("blobs/uploads/")).header(CONTENT_LENGTH, "0")
            })?;
            if resp.status() != StatusCode::ACCEPTED {
                return Err(s.unexpected(&what, resp));
            }
            location_of(s, &what, &resp)?
        }
    };
    let size = d.size;
    let sent = Arc::new(AtomicU64::new(0));
    let finished = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut last = u64::MAX;
            while !finished.load(Ordering::Relaxed) {
                let now = sent.load(Ordering::Relaxed).min(size);
                if now != last {
                    last = now;
                    ev(Status::Pushing {
                        current: now,
                        total: size,
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let r = send_blob(s, d, &path, location, chunk, &sent, &what);
        finished.store(true, Ordering::Relaxed);
        r
    });
    result?;
    ev(Status::Pushed);
    Ok(Uploaded::Pushed)
}

/// The upload proper: one PUT, or PATCHes and a closing PUT.
fn send_blob(
    s: &Session,
    d: &Descriptor,
    path: &std::path::Path,
    location: String,
    chunk: Option<u64>,
    sent: &Arc<AtomicU64>,
    what: &str,
) -> Result<()> {
    let size = d.size;
    let open = || {
        File::open(path).map_err(|e| crate::Error::File {
            what: "read blob",
            path: path.display().to_string(),
            source: e,
        })
    };
    let put_url = |loc: &str| {
        let sep = if loc.contains('?') { '&' } else { '?' };
        format!("{loc}{sep}digest={}", d.digest)
    };
    match chunk {
        None => {
            let resp = s.send(what, |c| {
                let body = match open() {
                    Ok(f) => {
                        sent.store(0, Ordering::Relaxed);
                        Body::sized(
                            Counting {
                                inner: f,
                                sent: sent.clone(),
                            },
                            size,
                        )
                    }
                    Err(_) => Body::from(Vec::new()),
                };
                c.put(put_url(&location))
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, size.to_string())
                    .body(body)
            })?;
            if resp.status() != StatusCode::CREATED {
                return Err(s.unexpected(what, resp));
            }
        }
        Some(chunk) => {
            let chunk = chunk.max(1);
            let mut loc = location;
            let mut offset = 0u64;
            while offset < size {
                let len = chunk.min(size - offset);
                let resp = s.send(what, |c| {
                    let body = match open().and_then(|mut f| {
                        f.seek(SeekFrom::Start(offset))
                            .map_err(|e| crate::Error::File {
                                what: "read blob",
                                path: path.display().to_string(),
                                source: e,
                            })?;
                        Ok(f)
                    }) {
                        Ok(f) => {
                            sent.store(offset, Ordering::Relaxed);
                            Body::sized(
                                Counting {
                                    inner: f.take(len),
                                    sent: sent.clone(),
                                },
                                len,
                            )
                        }
                        Err(_) => Body::from(Vec::new()),
                    };
                    c.patch(&loc)
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .header(CONTENT_RANGE, format!("{}-{}", offset, offset + len - 1))
                        .header(CONTENT_LENGTH, len.to_string())
                        .body(body)
                })?;
                if resp.status() != StatusCode::ACCEPTED {
                    return Err(s.unexpected(what, resp));
                }
                loc = location_of(s, what, &resp)?;
                offset += len;
            }
            let resp = s.send(what, |c| c.put(put_url(&loc)).header(CONTENT_LENGTH, "0"))?;
            if resp.status() != StatusCode::CREATED {
                return Err(s.unexpected(what, resp));
            }
        }
    }
    Ok(())
}

fn location_of(s: &Session, what: &str, resp: &Response) -> Result<String> {
    resp.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| s.absolute(l))
        .ok_or_else(|| {
            s.scope
                .invalid(format!("{what}: no Location in the registry's answer"))
        })
}

/// Counts the bytes of an upload body as the HTTP client reads it; a reporter thread of
/// [`upload`] turns the count into events (the body must be `'static`, the observer is not).
struct Counting<R> {
    inner: R,
    sent: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
