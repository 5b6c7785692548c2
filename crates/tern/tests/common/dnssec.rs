//! A DNSSEC-signed zone for DANE tests: hickory-server's in-memory zone,
//! signed at start with a fresh Ed25519 key (NSEC for denials), served on
//! 127.0.0.1 over UDP and TCP from its own thread. `config` gives tern the
//! zone's key as its `[dns] trust_anchor`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::dnssec::crypto::Ed25519SigningKey;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData};
use hickory_proto::dnssec::{DnssecSigner, SigningKey};
use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use hickory_proto::rr::rdata::{A, MX, NS, SOA, TLSA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordSet, RrKey};
use hickory_server::Server;
use hickory_server::dnssec::NxProofKind;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};

/// Records of one zone, added before it is signed.
pub struct SignedZoneBuilder {
    origin: Name,
    records: Vec<Record>,
    /// Added after signing: served without signatures, so bogus.
    unsigned: Vec<Record>,
}

fn name(n: &str) -> Name {
    Name::from_str(&format!("{}.", n.trim_end_matches('.'))).expect("name")
}

impl SignedZoneBuilder {
    pub fn new(origin: &str) -> SignedZoneBuilder {
        let o = name(origin);
        let soa = SOA::new(
            name(&format!("ns.{origin}")),
            name(&format!("hostmaster.{origin}")),
            1,
            3600,
            600,
            86400,
            60,
        );
        let records = vec![
            Record::from_rdata(o.clone(), 3600, RData::SOA(soa)),
            Record::from_rdata(
                o.clone(),
                3600,
                RData::NS(NS(name(&format!("ns.{origin}")))),
            ),
            Record::from_rdata(
                name(&format!("ns.{origin}")),
                3600,
                RData::A(A(Ipv4Addr::LOCALHOST)),
            ),
        ];
        SignedZoneBuilder {
            origin: o,
            records,
            unsigned: Vec::new(),
        }
    }

    pub fn a(mut self, n: &str, ip: &str) -> Self {
        self.records.push(Record::from_rdata(
            name(n),
            300,
            RData::A(A(Ipv4Addr::from_str(ip).expect("ipv4"))),
        ));
        self
    }

    pub fn mx(mut self, n: &str, preference: u16, exchange: &str) -> Self {
        self.records.push(Record::from_rdata(
            name(n),
            300,
            RData::MX(MX::new(preference, name(exchange))),
        ));
        self
    }

    pub fn txt(mut self, n: &str, text: &str) -> Self {
        self.records.push(Record::from_rdata(
            name(n),
            300,
            RData::TXT(TXT::new(vec![text.to_string()])),
        ));
        self
    }

    /// A TLSA record at `_25._tcp.<host>`.
    pub fn tlsa(mut self, host: &str, usage: u8, selector: u8, matching: u8, data: &[u8]) -> Self {
        self.records.push(Record::from_rdata(
            name(&format!("_25._tcp.{host}")),
            300,
            RData::TLSA(TLSA::new(
                CertUsage::from(usage),
                Selector::from(selector),
                Matching::from(matching),
                data.to_vec(),
            )),
        ));
        self
    }

    /// A TLSA record at `_25._tcp.<host>` that is left out of the signing:
    /// a validating resolver finds it bogus.
    pub fn unsigned_tlsa(
        mut self,
        host: &str,
        usage: u8,
        selector: u8,
        matching: u8,
        data: &[u8],
    ) -> Self {
        let signed = std::mem::take(&mut self.records);
        self = self.tlsa(host, usage, selector, matching, data);
        let tlsa = std::mem::replace(&mut self.records, signed);
        self.unsigned.extend(tlsa);
        self
    }

    /// Sign the zone and serve it until the returned server is dropped.
    pub fn start(self, dir: &Path) -> SignedZone {
        let pkcs8 = Ed25519SigningKey::generate_pkcs8().expect("key");
        let key = Ed25519SigningKey::from_pkcs8(&pkcs8).expect("key");
        let public = key.to_public_key().expect("public key");
        let dnskey = DNSKEY::from_key(&public);
        let anchor = Record::from_rdata(
            self.origin.clone(),
            3600,
            RData::DNSSEC(DNSSECRData::DNSKEY(dnskey.clone())),
        );
        let anchor_file = dir.join("trust-anchor.keys");
        std::fs::write(&anchor_file, format!("{anchor}\n")).expect("write trust anchor");

        let mut map: BTreeMap<RrKey, RecordSet> = BTreeMap::new();
        for r in self.records {
            let k = RrKey::new(LowerName::new(&r.name), r.record_type());
            map.entry(k)
                .or_insert_with(|| RecordSet::new(r.name.clone(), r.record_type(), 1))
                .insert(r, 1);
        }
        let mut zone = InMemoryZoneHandler::<TokioRuntimeProvider>::new(
            self.origin.clone(),
            map,
            ZoneType::Primary,
            AxfrPolicy::Deny,
            Some(NxProofKind::Nsec),
        )
        .expect("zone");
        let signer = DnssecSigner::new(
            dnskey,
            Box::new(key),
            self.origin.clone(),
            Duration::from_secs(86400),
        );
        zone.add_zone_signing_key_mut(signer).expect("signing key");
        zone.secure_zone_mut().expect("sign zone");
        for r in self.unsigned {
            assert!(zone.upsert_mut(r, 2), "unsigned record");
        }
        let mut catalog = Catalog::new();
        let handler: Arc<dyn ZoneHandler> = Arc::new(zone);
        catalog.upsert(LowerName::new(&self.origin), vec![handler]);

        let (udp, tcp) = super::udp_and_tcp_on_one_port();
        let addr = udp.local_addr().expect("addr");
        udp.set_nonblocking(true).expect("nonblocking");
        tcp.set_nonblocking(true).expect("nonblocking");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut server = Server::new(catalog);
                server.register_socket(tokio::net::UdpSocket::from_std(udp).expect("udp"));
                server.register_listener(
                    tokio::net::TcpListener::from_std(tcp).expect("tcp"),
                    Duration::from_secs(5),
                    65535,
                );
                let _ = stopped.await;
                let _ = tokio::time::timeout(Duration::from_secs(5), server.shutdown_gracefully())
                    .await;
            });
        });
        SignedZone {
            addr,
            anchor_file,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

pub struct SignedZone {
    pub addr: SocketAddr,
    pub anchor_file: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SignedZone {
    /// The `[dns]` section: ask this server, trust this zone's key.
    pub fn config(&self) -> String {
        format!(
            "[dns]\nservers = [\"{}\"]\ntimeout_secs = 2\ntrust_anchor = \"{}\"\n",
            self.addr,
            self.anchor_file.display()
        )
    }
}

impl Drop for SignedZone {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
