//! Request bodies: nothing, bytes (JSON), or a stream (a tar archive fed from a reader or
//! a channel), so `cp`, `load` and `import` never hold an archive in memory.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper::body::{Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

/// A request body.
pub enum Body {
    Empty,
    Full(Bytes),
    /// Chunks sent by another task (see [`Body::channel`]).
    Channel(mpsc::Receiver<io::Result<Bytes>>),
    /// Read to its end.
    Reader(Pin<Box<dyn AsyncRead + Send>>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Body::Empty => "Body::Empty",
            Body::Full(_) => "Body::Full",
            Body::Channel(_) => "Body::Channel",
            Body::Reader(_) => "Body::Reader",
        })
    }
}

impl Body {
    /// `value` as JSON.
    pub fn json<T: serde::Serialize>(value: &T) -> Body {
        Body::Full(Bytes::from(
            serde_json::to_vec(value).expect("request bodies serialize"),
        ))
    }

    /// A body fed through the returned sender; dropping the sender ends it.
    pub fn channel() -> (mpsc::Sender<io::Result<Bytes>>, Body) {
        let (tx, rx) = mpsc::channel(8);
        (tx, Body::Channel(rx))
    }

    pub fn reader(r: impl AsyncRead + Send + 'static) -> Body {
        Body::Reader(Box::pin(r))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        match this {
            Body::Empty => Poll::Ready(None),
            Body::Full(b) => {
                if b.is_empty() {
                    return Poll::Ready(None);
                }
                let data = std::mem::take(b);
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Body::Channel(rx) => match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
            Body::Reader(r) => {
                let mut buf = BytesMut::zeroed(64 * 1024);
                let mut rb = ReadBuf::new(&mut buf);
                match r.as_mut().poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) => {
                        let n = rb.filled().len();
                        if n == 0 {
                            *this = Body::Empty;
                            return Poll::Ready(None);
                        }
                        buf.truncate(n);
                        Poll::Ready(Some(Ok(Frame::data(buf.freeze()))))
                    }
                    Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(b) => b.is_empty(),
            _ => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(b) => SizeHint::with_exact(b.len() as u64),
            _ => SizeHint::default(),
        }
    }
}
