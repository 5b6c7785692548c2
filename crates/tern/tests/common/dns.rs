//! A small authoritative DNS server for tests, on 127.0.0.1 (UDP), serving
//! records from a table. A name with no record of the asked type answers
//! NOERROR with no data; a name with no record at all answers NXDOMAIN;
//! names listed in `fail` answer SERVFAIL (a temporary DNS error).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, MX, PTR, TXT};
use hickory_proto::rr::{Name, RData, Record};

pub struct DnsServer {
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone, Default)]
pub struct Zone {
    records: Vec<(String, RData)>,
    fail: Vec<String>,
}

fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Zone {
    pub fn a(mut self, name: &str, ip: &str) -> Zone {
        self.records.push((
            norm(name),
            RData::A(A(Ipv4Addr::from_str(ip).expect("ipv4"))),
        ));
        self
    }

    /// An MX record; `exchange` "." makes a null MX (RFC 7505).
    pub fn mx(mut self, name: &str, preference: u16, exchange: &str) -> Zone {
        let ex = if exchange == "." {
            Name::root()
        } else {
            Name::from_str(&format!("{}.", norm(exchange))).expect("name")
        };
        self.records
            .push((norm(name), RData::MX(MX::new(preference, ex))));
        self
    }

    /// A TXT record; text longer than 255 octets is split into several
    /// character-strings (RFC 1035 3.3.14), as a zone file would hold it.
    pub fn txt(mut self, name: &str, text: &str) -> Zone {
        let strings: Vec<String> = text
            .as_bytes()
            .chunks(255)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        self.records
            .push((norm(name), RData::TXT(TXT::new(strings))));
        self
    }

    /// A PTR record: `name` is the reverse name (1.0.0.127.in-addr.arpa).
    pub fn ptr(mut self, name: &str, target: &str) -> Zone {
        let t = Name::from_str(&format!("{}.", norm(target))).expect("name");
        self.records.push((norm(name), RData::PTR(PTR(t))));
        self
    }

    pub fn servfail(mut self, name: &str) -> Zone {
        self.fail.push(norm(name));
        self
    }

    fn answer(&self, query: &[u8]) -> Option<Vec<u8>> {
        let q = Message::from_vec(query).ok()?;
        let question = q.queries.first()?.clone();
        let qname = norm(&question.name().to_ascii());
        let mut r = Message::response(q.metadata.id, q.metadata.op_code);
        r.metadata.message_type = MessageType::Response;
        r.metadata.authoritative = true;
        r.metadata.recursion_desired = q.metadata.recursion_desired;
        r.metadata.recursion_available = true;
        r.add_query(question.clone());
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
        r.to_vec().ok()
    }
}

impl DnsServer {
    pub fn start(zone: Zone) -> DnsServer {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind dns");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let addr = sock.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let zone = Arc::new(Mutex::new(zone));
        let served = zone.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s2.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let resp = served
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .answer(&buf[..n]);
                if let Some(resp) = resp {
                    let _ = sock.send_to(&resp, from);
                }
            }
        });
        DnsServer {
            addr,
            zone,
            stop,
            thread: Some(thread),
        }
    }

    /// Change what the server answers from now on (a record published
    /// while the test runs).
    pub fn update(&self, f: impl FnOnce(Zone) -> Zone) {
        let mut z = self.zone.lock().unwrap_or_else(|p| p.into_inner());
        *z = f(std::mem::take(&mut *z));
    }

    /// The `[dns]` section that points tern at this server. It signs
    /// nothing, so DNSSEC validation (and with it DANE) is off: a
    /// validating resolver would find every answer bogus. The signed zones
    /// for DANE are served by `dnssec::SignedZone`.
    pub fn config(&self) -> String {
        format!(
            "[dns]\nservers = [\"{}\"]\ntimeout_secs = 2\ndnssec = false\n",
            self.addr
        )
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
