//! Prompt acknowledgements while a message body arrives.
//!
//! A client whose socket keeps Nagle's algorithm on (Python's `imaplib` and
//! `smtplib`, most scripts) holds back a write smaller than a segment while
//! earlier bytes are unacknowledged (RFC 896; RFC 1122 4.2.3.4). TLS writes
//! a message body as 16 KiB records, so the last record of any body over
//! 16 KiB is such a write. The server's kernel, meanwhile, delays its
//! acknowledgement of the first record (RFC 1122 4.2.3.2 allows up to
//! 500 ms; Linux waits 40 ms) hoping to send it with a reply, and the
//! server cannot reply before the body is complete. Each side waits for
//! the other until the delayed-ACK timer fires: an APPEND of 20 KiB took
//! 44 ms here instead of 1.6.
//!
//! So while a session waits for more of a body (an IMAP literal, SMTP
//! DATA or BDAT), it asks its socket to acknowledge at once
//! (`TCP_QUICKACK`, Linux `tcp(7)`). The option is not sticky: the kernel
//! falls back to delayed acknowledgements as soon as the exchange looks
//! interactive again, so commands and replies still share packets.

use tokio::io::DuplexStream;
use tokio::net::TcpStream;

use crate::listener::Stream;

/// A byte stream that can ask its TCP socket to acknowledge what it has
/// received at once. Streams without a socket (in-memory tests) do nothing.
pub trait QuickAck {
    fn quick_ack(&self) {}
}

impl QuickAck for TcpStream {
    fn quick_ack(&self) {
        // Only a hint: a socket that refuses it still works, a little slower.
        let _ = socket2::SockRef::from(self).set_tcp_quickack(true);
    }
}

impl QuickAck for Stream {
    fn quick_ack(&self) {
        match self {
            Stream::Plain(s) => s.quick_ack(),
            Stream::Tls(s) => s.get_ref().0.quick_ack(),
        }
    }
}

impl QuickAck for DuplexStream {}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A connected pair on loopback: (client, server).
    async fn pair() -> (TcpStream, TcpStream) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        (c, s)
    }

    #[tokio::test]
    async fn an_interactive_socket_is_put_back_into_quick_ack_mode() {
        let (mut c, mut s) = pair().await;
        // Command and reply, a few times: the kernel moves the server's
        // socket to delayed acknowledgements (its "ping-pong" mode).
        let mut buf = [0u8; 16];
        for _ in 0..4 {
            c.write_all(b"a NOOP\r\n").await.unwrap();
            let n = s.read(&mut buf).await.unwrap();
            assert_eq!(n, 8);
            s.write_all(b"a OK\r\n").await.unwrap();
            c.read_exact(&mut buf[..6]).await.unwrap();
        }
        let quick = || socket2::SockRef::from(&s).tcp_quickack().unwrap();
        assert!(!quick(), "delayed acknowledgements after an exchange");
        s.quick_ack();
        assert!(quick());
    }
}
