//! The JSON error body for the answers hyper writes itself, before any
//! route runs: 400 (a request line or header it cannot read), 414 (a URI
//! over 64 KiB) and 431 (a request head over its buffer, or too many
//! headers). hyper sends those as a bare head with `content-length: 0` and
//! offers no hook, so the connection's writer ([`Io`]) recognises exactly
//! that head and writes it with the one error body, `shared::ApiError`
//! (code `BAD_REQUEST`, the status kept), instead.
//!
//! Nothing else can look like it: every response the app writes for an
//! error has a JSON body (`web::json_errors`), and WebSocket frames never
//! begin with `HTTP/1.`. [`Listener`] wraps the server's listener.

use shared::{ApiError, ErrorCode};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A listener whose connections get [`Io`].
pub(crate) struct Listener<L>(pub(crate) L);

impl<L: axum::serve::Listener> axum::serve::Listener for Listener<L> {
    type Io = Io<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.0.accept().await;
        (Io::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A connection whose bare 400/414/431 heads leave with the JSON body.
pub(crate) struct Io<T> {
    inner: T,
    /// A replacement being written: its bytes, how many went out, and how
    /// many bytes of hyper's it stands for.
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<T> Io<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            replacing: None,
        }
    }

    /// The connection itself (to set socket options).
    pub(crate) fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: AsyncWrite + Unpin> Io<T> {
    /// Writes the replacement to its end; then says hyper's bytes went.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some((bytes, sent, claimed)) = &mut self.replacing else {
            return Poll::Ready(Ok(0));
        };
        while *sent < bytes.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *sent += n;
        }
        let claimed = *claimed;
        self.replacing = None;
        Poll::Ready(Ok(claimed))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Io<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Io<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none() {
            match with_json_body(buf) {
                Some(bytes) => self.replacing = Some((bytes, 0, buf.len())),
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        self.poll_replacement(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none() {
            // hyper's own answer is one head and nothing after it.
            let mut filled = bufs.iter().filter(|b| !b.is_empty());
            let only = match (filled.next(), filled.next()) {
                (Some(first), None) => with_json_body(first).map(|b| (b, first.len())),
                _ => None,
            };
            match only {
                Some((bytes, claimed)) => self.replacing = Some((bytes, 0, claimed)),
                None => return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
            }
        }
        self.poll_replacement(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// When `buf` is exactly hyper's bare answer to a request it could not
/// read (`HTTP/1.x 400|414|431 …`, headers with `content-length: 0`, and
/// nothing after them), the same answer with the JSON error body.
fn with_json_body(buf: &[u8]) -> Option<Vec<u8>> {
    let status = buf.strip_prefix(b"HTTP/1.")?.get(2..5)?;
    let message = match status {
        b"400" => "the request could not be read as HTTP",
        b"414" => "the URI is too long",
        b"431" => "the request's headers are too large",
        _ => return None,
    };
    let head = buf.strip_suffix(b"\r\n\r\n")?;
    let head = std::str::from_utf8(head).ok()?;
    if head.contains("\r\n\r\n") {
        return None;
    }
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let headers: Vec<&str> = lines.collect();
    let bodiless = headers.iter().any(|h| {
        h.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("content-length") && value.trim() == "0"
        })
    });
    if !bodiless {
        return None;
    }
    let body = serde_json::to_vec(&ApiError::new(ErrorCode::BadRequest, message)).ok()?;
    let mut out = format!("{status_line}\r\n");
    for h in headers {
        let name = h.split(':').next().unwrap_or("");
        if !name.eq_ignore_ascii_case("content-length")
            && !name.eq_ignore_ascii_case("content-type")
        {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!(
        "content-type: application/json\r\nx-content-type-options: nosniff\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_answers_get_the_json_body_and_nothing_else_changes() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 13:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(with_json_body(bare).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("date: Fri"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let err: ApiError = serde_json::from_str(body).unwrap();
        assert_eq!(err.code, ErrorCode::BadRequest);

        for other in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nmore",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"\x81\x05hello",
            b"",
        ] {
            assert_eq!(with_json_body(other), None, "{other:?}");
        }
    }
}
