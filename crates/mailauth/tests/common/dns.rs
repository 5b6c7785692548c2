//! A small authoritative DNS server for tests, on 127.0.0.1 (UDP and TCP),
//! serving records from a table. A name with no record of the asked type
//! answers NOERROR with no data; a name with no record at all answers
//! NXDOMAIN; names listed in `servfail` answer SERVFAIL (a temporary
//! error). A UDP answer over 512 bytes is truncated (TC) so the resolver
//! asks again over TCP, as with long DKIM keys.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, MX, PTR, TXT};
use hickory_proto::rr::{Name, RData, Record};

pub struct DnsServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

#[derive(Clone, Default)]
pub struct Zone {
    records: Vec<(String, RData)>,
    fail: Vec<String>,
    silent: Vec<String>,
}

fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn name(n: &str) -> Name {
    Name::from_str(&format!("{}.", norm(n))).expect("name")
}

impl Zone {
    pub fn a(mut self, n: &str, ip: &str) -> Zone {
        self.records
            .push((norm(n), RData::A(A(Ipv4Addr::from_str(ip).expect("ipv4")))));
        self
    }

    pub fn aaaa(mut self, n: &str, ip: &str) -> Zone {
        self.records.push((
            norm(n),
            RData::AAAA(AAAA(Ipv6Addr::from_str(ip).expect("ipv6"))),
        ));
        self
    }

    pub fn mx(mut self, n: &str, preference: u16, exchange: &str) -> Zone {
        self.records
            .push((norm(n), RData::MX(MX::new(preference, name(exchange)))));
        self
    }

    /// A PTR record for an address ("192.0.2.1" → 1.2.0.192.in-addr.arpa).
    pub fn ptr(mut self, ip: &str, target: &str) -> Zone {
        let ip: std::net::IpAddr = ip.parse().expect("ip");
        let rev = match ip {
            std::net::IpAddr::V4(v4) => {
                let o = v4.octets();
                format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
            }
            std::net::IpAddr::V6(v6) => {
                let mut s = String::new();
                for b in v6.octets().iter().rev() {
                    s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
                }
                s.push_str("ip6.arpa");
                s
            }
        };
        self.records
            .push((norm(&rev), RData::PTR(PTR(name(target)))));
        self
    }

    /// A TXT record; text longer than 255 bytes is split into strings.
    pub fn txt(mut self, n: &str, text: &str) -> Zone {
        let parts: Vec<String> = text
            .as_bytes()
            .chunks(255)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        self.records.push((norm(n), RData::TXT(TXT::new(parts))));
        self
    }

    pub fn servfail(mut self, n: &str) -> Zone {
        self.fail.push(norm(n));
        self
    }

    /// Questions about `n` are never answered (a server that has gone
    /// away, or a slow one).
    pub fn silent(mut self, n: &str) -> Zone {
        self.silent.push(norm(n));
        self
    }

    fn answer(&self, query: &[u8], udp: bool) -> Option<Vec<u8>> {
        let q = Message::from_vec(query).ok()?;
        let question = q.queries.first()?.clone();
        let qname = norm(&question.name().to_ascii());
        let mut r = Message::response(q.metadata.id, q.metadata.op_code);
        r.metadata.message_type = MessageType::Response;
        r.metadata.authoritative = true;
        r.metadata.recursion_desired = q.metadata.recursion_desired;
        r.metadata.recursion_available = true;
        r.add_query(question.clone());
        if self.silent.contains(&qname) {
            return None;
        }
        if self.fail.contains(&qname) {
            r.metadata.response_code = ResponseCode::ServFail;
            return r.to_vec().ok();
        }
        let named: Vec<&(String, RData)> =
            self.records.iter().filter(|(n, _)| *n == qname).collect();
        if named.is_empty() {
            r.metadata.response_code = ResponseCode::NXDomain;
            return r.to_vec().ok();
        }
        let empty = r.clone();
        for (_, rdata) in named
            .iter()
            .filter(|(_, d)| d.record_type() == question.query_type())
        {
            r.add_answer(Record::from_rdata(
                question.name().clone(),
                60,
                rdata.clone(),
            ));
        }
        let bytes = r.to_vec().ok()?;
        if udp && bytes.len() > 512 {
            let mut t = empty;
            t.metadata.truncation = true;
            return t.to_vec().ok();
        }
        Some(bytes)
    }
}

/// A UDP socket and a TCP listener on the same loopback port. The port the
/// system picks for UDP may be taken on TCP (by any other connection), so
/// another is tried, a bounded number of times.
pub fn udp_and_tcp_on_one_port() -> (UdpSocket, TcpListener) {
    for _ in 0..100 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let addr = udp.local_addr().expect("addr");
        if let Ok(tcp) = TcpListener::bind(addr) {
            return (udp, tcp);
        }
    }
    panic!("no loopback port free on both UDP and TCP after 100 tries");
}

impl DnsServer {
    pub fn start(zone: Zone) -> DnsServer {
        let (sock, tcp) = udp_and_tcp_on_one_port();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let addr = sock.local_addr().expect("addr");
        tcp.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let (s1, s2) = (stop.clone(), stop.clone());
        let z1 = zone.clone();
        let udp_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s1.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(resp) = z1.answer(&buf[..n], true) {
                    let _ = sock.send_to(&resp, from);
                }
            }
        });
        let tcp_thread = std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = tcp.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let zone = zone.clone();
                std::thread::spawn(move || {
                    let _ = conn.set_nonblocking(false);
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    loop {
                        let mut len = [0u8; 2];
                        if conn.read_exact(&mut len).is_err() {
                            return;
                        }
                        let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                        if conn.read_exact(&mut q).is_err() {
                            return;
                        }
                        let Some(resp) = zone.answer(&q, false) else {
                            return;
                        };
                        let mut out = (resp.len() as u16).to_be_bytes().to_vec();
                        out.extend_from_slice(&resp);
                        if conn.write_all(&out).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        DnsServer {
            addr,
            stop,
            threads: vec![udp_thread, tcp_thread],
        }
    }

    /// The `[dns]` section that points tern at this server.
    pub fn config(&self) -> String {
        format!("[dns]\nservers = [\"{}\"]\ntimeout_secs = 2\n", self.addr)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
