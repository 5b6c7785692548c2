//! A plain SMTP client for one transaction, for tests that look at replies.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One SMTP transaction, a command at a time: the reply to the end of
/// DATA, or the refusal of RCPT.
pub fn send(port: u16, helo: &str, from: &str, to: &str, body: &str) -> String {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut r = BufReader::new(s);
    let read = |r: &mut BufReader<TcpStream>| loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        if l.as_bytes().get(3) != Some(&b'-') {
            return l;
        }
    };
    read(&mut r);
    for cmd in [format!("EHLO {helo}"), format!("MAIL FROM:<{from}>")] {
        r.get_mut()
            .write_all(format!("{cmd}\r\n").as_bytes())
            .unwrap();
        read(&mut r);
    }
    r.get_mut()
        .write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
        .unwrap();
    let rcpt = read(&mut r);
    if !rcpt.starts_with("250") {
        return rcpt;
    }
    r.get_mut().write_all(b"DATA\r\n").unwrap();
    read(&mut r);
    r.get_mut()
        .write_all(format!("{body}\r\n.\r\nQUIT\r\n").as_bytes())
        .unwrap();
    read(&mut r)
}
