//! DMARC aggregate and TLS-RPT reports end to end. Recorded DMARC results
//! and TLS outcomes of one day are put in the store; `tern reports
//! send-now --day` (the injected clock) makes the reports: parsedmarc
//! (offline) reads the XML and JSON with the expected counts and lxml
//! validates the XML against the RFC 7489 schema; the loopback DNS server
//! authorises one external `rua` and not another; the mails reach a Postfix
//! peer and dkimpy verifies their signature; the TLS report is posted to a
//! Python HTTPS receiver as `application/tlsrpt+gzip`; a second run, and two
//! nodes on PostgreSQL running at once, send each report once. Incoming
//! reports (zip, gzip, plain) sent over SMTP are read and listed — by the
//! CLI, the API and the admin page — and a corrupt one stays ordinary mail.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Tern;
use common::ca::{ca, leaf};
use common::dns::{DnsServer, Zone};
use common::postfix::Postfix;
use tern_store::{DmarcRecord, Store, TlsResult};

/// The day reported on: three days ago. The running servers' own daily
/// loop never takes it (a node's first run reports only on the newest due
/// day, later runs only on days after that), nor drops its records (kept
/// eight days).
fn day() -> (i64, String) {
    let d = tern_reports::period::day_start(tern_common::time::now_secs())
        - 3 * tern_reports::period::DAY;
    (d, tern_reports::period::date(d))
}

/// A Python HTTPS server that keeps every POST it gets (path, content
/// type, the gunzipped body) as a JSON file in `out`.
struct Receiver {
    child: Child,
    port: u16,
}

const RECEIVER: &str = r#"
import gzip, http.server, json, os, ssl, sys
cert, key, out = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n = len(os.listdir(out))
        tmp = os.path.join(out, f".{n}")
        with open(tmp, "w") as f:
            json.dump({"path": self.path, "type": self.headers.get("Content-Type"),
                       "report": json.loads(gzip.decompress(body))}, f)
        os.rename(tmp, os.path.join(out, f"{n}.json"))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

impl Receiver {
    fn start(cert: &Path, key: &Path, out: &Path) -> Receiver {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(RECEIVER)
            .arg(cert)
            .arg(key)
            .arg(out)
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("python3");
        // Readiness is the port it prints once listening.
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("receiver port");
        let port = line.trim().parse().expect("a port");
        Receiver { child, port }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn posts(out: &Path) -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

fn record(at: i64, ip: &str, from: &str, dkim: bool, spf: bool) -> DmarcRecord {
    DmarcRecord {
        at,
        source_ip: ip.into(),
        header_from: from.into(),
        envelope_from: from.into(),
        policy: "reject".into(),
        dmarc_result: if dkim || spf { "pass" } else { "fail" }.into(),
        spf_result: if spf { "pass" } else { "softfail" }.into(),
        spf_domain: from.into(),
        spf_aligned: spf,
        dkim_results: format!("d={from} s=mail {}", if dkim { "pass" } else { "fail" }),
        dkim_aligned: dkim,
        disposition: if dkim || spf { "accept" } else { "reject" }.into(),
        override_reason: String::new(),
    }
}

fn tls(day: i64, domain: &str, mx: &str, policy: &str, outcome: &str) -> TlsResult {
    TlsResult {
        at: day + 3600,
        domain: domain.into(),
        mx: mx.into(),
        policy: policy.into(),
        outcome: outcome.into(),
        detail: if outcome == "tls" {
            "TLSv1.3".into()
        } else {
            "certificate not valid for the host".into()
        },
    }
}

/// The day's recorded results: sender.example (5 messages, 4 passing,
/// reports to an authorised third party), other.example (reports to an
/// unauthorised one), quiet.example (no rua); remote.example's TLS
/// outcomes (3 good, 2 failed) and one of a domain without TLS-RPT.
fn feed(data: &Path, day: i64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(Store::open_sqlite_for_tests(data)).unwrap();
    let t = day + 7200;
    let records = [
        record(t, "192.0.2.10", "sender.example", true, true),
        record(t, "192.0.2.10", "sender.example", true, true),
        record(t, "192.0.2.10", "sender.example", true, true),
        record(t, "192.0.2.11", "mail.sender.example", false, true),
        record(t, "198.51.100.20", "sender.example", false, false),
        record(t, "203.0.113.5", "other.example", true, true),
        record(t, "203.0.113.6", "quiet.example", true, true),
        // The day before: not in this day's report.
        record(day - 600, "192.0.2.99", "sender.example", true, true),
    ];
    for r in &records {
        rt.block_on(s.dmarc_record_insert(r)).unwrap();
    }
    for r in [
        tls(day, "remote.example", "mx.remote.example", "sts", "tls"),
        tls(day, "remote.example", "mx.remote.example", "sts", "tls"),
        tls(day, "remote.example", "mx.remote.example", "sts", "tls"),
        tls(
            day,
            "remote.example",
            "mx2.remote.example",
            "sts",
            "validation-failure",
        ),
        tls(
            day,
            "remote.example",
            "mx3.remote.example",
            "none",
            "plaintext",
        ),
        tls(day, "silent.example", "mx.silent.example", "none", "tls"),
    ] {
        rt.block_on(s.tls_result_insert(&r)).unwrap();
    }
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn zone(https_port: u16) -> Zone {
    Zone::default()
        .mx("remote.example", 10, "mx.remote.example")
        .a("mx.remote.example", "127.0.0.1")
        .a("reports.remote.example", "127.0.0.1")
        .txt(
            "_dmarc.sender.example",
            "v=DMARC1; p=reject; sp=quarantine; adkim=s; pct=100; rua=mailto:dmarc@remote.example!5m",
        )
        .txt("sender.example._report._dmarc.remote.example", "v=DMARC1")
        .txt(
            "_dmarc.other.example",
            "v=DMARC1; p=none; rua=mailto:spy@remote.example",
        )
        .txt("_dmarc.quiet.example", "v=DMARC1; p=none")
        .txt(
            "_smtp._tls.remote.example",
            &format!(
                "v=TLSRPTv1; rua=mailto:tls@remote.example,https://reports.remote.example:{https_port}/tlsrpt"
            ),
        )
}

const REPORTS: &str = "[reports]\ndmarc = true\ntlsrpt = true\nfrom = \"reports@example.org\"\n\
                       org_name = \"tern test\"\ncontact = \"mailto:reports@example.org\"\n";

const PARSEDMARC: &str = r#"
import json, sys
from lxml import etree
import parsedmarc
xml = open(sys.argv[1], "rb").read()
schema = etree.XMLSchema(etree.parse(sys.argv[3]))
doc = etree.fromstring(xml)
if not schema.validate(doc):
    print("INVALID", schema.error_log)
    sys.exit(1)
agg = parsedmarc.parse_aggregate_report_xml(xml, offline=True)
tls = parsedmarc.parse_smtp_tls_report_json(open(sys.argv[2], "rb").read())
print(json.dumps({
    "domain": agg["policy_published"]["domain"],
    "p": agg["policy_published"]["p"],
    "records": [[r["source"]["ip_address"], r["count"], r["policy_evaluated"]["dkim"],
                 r["policy_evaluated"]["spf"], r["policy_evaluated"]["disposition"]]
                for r in agg["records"]],
    "tls": [[p["policy_type"], p["successful_session_count"], p["failed_session_count"]]
            for p in tls["policies"]],
}, default=str))
"#;

#[test]
fn reports_are_made_checked_sent_once_and_verified() {
    let (day, day_name) = day();
    let day_name = day_name.as_str();
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    let (cert, key) = leaf(&ca, "reports.remote.example");
    let (cert_file, key_file) = (dir.path().join("r.crt"), dir.path().join("r.key"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let posted = dir.path().join("posted");
    std::fs::create_dir(&posted).unwrap();
    let receiver = Receiver::start(&cert_file, &key_file, &posted);
    let pf = Postfix::start(false, &[]);
    let dns = DnsServer::start(zone(receiver.port));
    let cfg = format!(
        "{}{REPORTS}[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {}\ntls_ca_file = \"{}\"\n",
        dns.config(),
        pf.port,
        ca_file.display()
    );
    let t = Tern::start_with(&[], &cfg);
    ok(t.cli(&["domain", "add", "example.org", "--no-dkim"]));
    let keygen = ok(t.cli(&["dkim", "keygen", "example.org", "--selector", "tern1"]));
    let txt = keygen
        .lines()
        .find_map(|l| {
            l.split_once('"')
                .map(|(_, r)| r.trim_end_matches('"').to_string())
        })
        .filter(|t| t.contains("p="))
        .unwrap_or_else(|| panic!("no DKIM record in {keygen}"));
    feed(&t.data_dir(), day);

    // What would be sent, with the payloads kept for the outside parsers.
    let saved = dir.path().join("saved");
    let dry = ok(t.cli(&[
        "reports",
        "send-now",
        "--dry-run",
        "--day",
        day_name,
        "--save",
        saved.to_str().unwrap(),
    ]));
    assert!(
        dry.contains(&format!("dmarc {day_name} sender.example: 5 messages"))
            && dry.contains("would send to mailto:dmarc@remote.example"),
        "{dry}"
    );
    // RFC 7489 7.1: remote.example did not agree to other.example's reports.
    assert!(
        dry.contains("refused mailto:spy@remote.example")
            && dry.contains("other.example._report._dmarc.remote.example"),
        "{dry}"
    );
    assert!(
        !dry.contains("quiet.example") && !dry.contains("silent.example"),
        "{dry}"
    );
    assert!(
        dry.contains(&format!("tlsrpt {day_name} remote.example: 5 sessions")),
        "{dry}"
    );
    let xml = std::fs::read_dir(&saved)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "xml")
                && std::fs::read_to_string(p)
                    .unwrap()
                    .contains("sender.example")
        })
        .expect("the sender.example XML");
    let json = saved.join(format!("tlsrpt-{day_name}-0.json"));
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rfc7489.xsd");
    let parsed = common::python(
        PARSEDMARC,
        &[xml.to_str().unwrap(), json.to_str().unwrap(), xsd],
    );
    let v: serde_json::Value = serde_json::from_str(parsed.trim()).expect(&parsed);
    assert_eq!(v["domain"], "sender.example", "{v}");
    assert_eq!(v["p"], "reject", "{v}");
    let mut records: Vec<String> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect();
    records.sort();
    assert_eq!(
        records,
        vec![
            r#"["192.0.2.10",3,"pass","pass","none"]"#,
            r#"["192.0.2.11",1,"fail","pass","none"]"#,
            r#"["198.51.100.20",1,"fail","fail","reject"]"#,
        ],
        "{v}"
    );
    let mut tls: Vec<String> = v["tls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect();
    tls.sort();
    assert_eq!(
        tls,
        vec![r#"["no-policy-found",0,1]"#, r#"["sts",3,1]"#],
        "{v}"
    );

    // Sent: the mails reach Postfix, the TLS report is posted.
    let sent = ok(t.cli(&["reports", "send-now", "--day", day_name]));
    assert!(
        sent.contains("sender.example") && sent.contains("sent to"),
        "{sent}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while pf.messages().len() < 2 || posts(&posted).is_empty() {
        assert!(
            Instant::now() < deadline,
            "not delivered: {} mails, {} posts\n{}",
            pf.messages().len(),
            posts(&posted).len(),
            pf.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let p = &posts(&posted)[0];
    assert_eq!(p["type"], "application/tlsrpt+gzip", "{p}");
    assert_eq!(p["path"], "/tlsrpt", "{p}");
    assert_eq!(p["report"]["organization-name"], "tern test", "{p}");
    let mails: Vec<String> = pf
        .messages()
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    let dmarc = mails
        .iter()
        .find(|m| m.contains("Report Domain: sender.example"))
        .expect("the DMARC report mail");
    assert!(
        dmarc.contains("application/gzip") && dmarc.contains("Auto-Submitted: auto-generated"),
        "{dmarc}"
    );
    let tls_mail = mails
        .iter()
        .find(|m| m.contains("TLS-Report-Domain: remote.example"))
        .expect("the TLS report mail");
    assert!(tls_mail.contains("application/tlsrpt+gzip"), "{tls_mail}");
    // dkimpy verifies what Postfix stored (CRLF restored), with our record.
    for (n, m) in [dmarc, tls_mail].iter().enumerate() {
        let path = dir.path().join(format!("stored{n}.eml"));
        std::fs::write(&path, m.replace('\n', "\r\n")).unwrap();
        let verify = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(include_str!("scripts/submission_dkim_verify.py"))
            .arg(&path)
            .arg(&txt)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&verify.stdout).trim(),
            "True",
            "dkimpy: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
    }

    // The same day again: nothing more goes out.
    let again = ok(t.cli(&["reports", "send-now", "--day", day_name]));
    assert!(again.contains("already sent"), "{again}");
    assert!(!again.contains(", sent to"), "{again}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(pf.messages().len(), 2, "sent once");
    assert_eq!(posts(&posted).len(), 1, "posted once");
    let listed = ok(t.cli(&["reports", "list", "--sent"]));
    assert!(
        listed.contains("sender.example") && listed.contains("skipped"),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.contains("tlsrpt") && l.contains("remote.example") && l.contains("sent")),
        "{listed}"
    );
}

#[test]
fn two_nodes_on_postgres_send_a_day_once() {
    let (day, day_name) = day();
    let day_name = day_name.as_str();
    let db = common::pg::PgDb::create();
    let dns = DnsServer::start(zone(9));
    let extra = format!("{}{}{REPORTS}", db.config(), dns.config());
    let a = Tern::start_with(&[], &extra);
    let b = Tern::start_with(&[], &extra);
    ok(a.cli(&["domain", "add", "example.org", "--no-dkim"]));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt
        .block_on(Store::open(
            &tern_common::config::StoreConfig {
                kind: tern_common::config::StoreKind::Postgres,
                url: Some(db.url.clone()),
                max_connections: 2,
            },
            &a.data_dir(),
        ))
        .unwrap();
    for i in 0..20 {
        rt.block_on(s.dmarc_record_insert(&record(
            day + 100 + i,
            "192.0.2.10",
            "sender.example",
            true,
            true,
        )))
        .unwrap();
    }
    // Both nodes at once, twice each.
    let run = |t: &Tern| {
        Command::new(env!("CARGO_BIN_EXE_tern"))
            .arg("--config")
            .arg(&t.config)
            .args(["reports", "send-now", "--kind", "dmarc", "--day", day_name])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tern")
    };
    let children = [run(&a), run(&b), run(&a), run(&b)];
    let outs: Vec<String> = children
        .into_iter()
        .map(|c| ok(c.wait_with_output().unwrap()))
        .collect();
    let sent = outs.iter().filter(|o| o.contains(", sent to")).count();
    assert_eq!(sent, 1, "{outs:#?}");
    let queued = rt.block_on(s.queue_list()).unwrap();
    let reports: Vec<_> = queued
        .iter()
        .filter(|q| q.sender == "reports@example.org")
        .collect();
    assert_eq!(reports.len(), 1, "one report in the queue: {queued:?}");
    let rows = rt.block_on(s.reports_sent(0)).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
}

/// A report mail as another server sends it, built by Python's email
/// package: `kind` zip (DMARC XML in a zip), gzip (TLS JSON), xml (plain),
/// or corrupt (a .xml.gz that is not gzip).
const SEND: &str = r#"
import gzip, io, smtplib, sys, zipfile
from email.message import EmailMessage
port, kind = int(sys.argv[1]), sys.argv[2]
xml = b"""<?xml version="1.0"?>
<feedback><version>1.0</version>
<report_metadata><org_name>Example Receiver</org_name><email>noreply@receiver.example</email>
<report_id>r-%s</report_id><date_range><begin>1795910400</begin><end>1795996799</end></date_range></report_metadata>
<policy_published><domain>example.org</domain><adkim>r</adkim><aspf>r</aspf><p>quarantine</p><sp>quarantine</sp><pct>100</pct><fo>0</fo></policy_published>
<record><row><source_ip>192.0.2.1</source_ip><count>7</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
<identifiers><header_from>example.org</header_from></identifiers><auth_results><dkim><domain>example.org</domain><result>pass</result></dkim><spf><domain>example.org</domain><result>pass</result></spf></auth_results></record>
<record><row><source_ip>203.0.113.9</source_ip><count>2</count><policy_evaluated><disposition>quarantine</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
<identifiers><header_from>example.org</header_from></identifiers><auth_results><spf><domain>spoof.example</domain><result>fail</result></spf></auth_results></record>
</feedback>""" % kind.encode()
tls = b"""{"organization-name":"Example Receiver","date-range":{"start-datetime":"2026-11-29T00:00:00Z","end-datetime":"2026-11-29T23:59:59Z"},
"contact-info":"tls@receiver.example","report-id":"t-1","policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce"],"policy-domain":"example.org","mx-host":["mx.example.org"]},
"summary":{"total-successful-session-count":40,"total-failure-session-count":3},"failure-details":[{"result-type":"certificate-expired","receiving-mx-hostname":"mx.example.org","failed-session-count":3}]}]}"""
m = EmailMessage()
m["From"] = "noreply@receiver.example"
m["To"] = "postmaster@example.org"
m["Subject"] = "Report Domain: example.org Submitter: receiver.example"
m.set_content("A report.")
if kind == "zip":
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("receiver.example!example.org!1795910400!1795996799.xml", xml)
    m.add_attachment(buf.getvalue(), maintype="application", subtype="zip", filename="r.zip")
elif kind == "xml":
    m.add_attachment(xml, maintype="text", subtype="xml", filename="r.xml")
elif kind == "gzip":
    m.add_attachment(gzip.compress(tls), maintype="application", subtype="tlsrpt+gzip", filename="t.json.gz")
else:
    m.add_attachment(b"\x1f\x8b\x08\x00not gzip at all", maintype="application", subtype="gzip", filename="r.xml.gz")
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    s.send_message(m, from_addr="bounces@receiver.example", to_addrs=["postmaster@example.org"])
print("sent")
"#;

#[test]
fn reports_sent_to_postmaster_are_read_listed_and_shown() {
    let t = Tern::start(&["smtp", "https", "imaps"]);
    t.add_user("postmaster@example.org", "Postmaster-Pass-1!");
    let port = t.port("smtp").to_string();
    for kind in ["zip", "gzip", "xml", "corrupt"] {
        let out = common::python(SEND, &[&port, kind]);
        assert!(out.contains("sent"), "{kind}: {out}");
    }
    // Three reports: the zip and the plain XML one (ids r-zip and r-xml)
    // and the TLS one.
    let list = ok(t.cli(&["reports", "list", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&list).expect(&list);
    let items = v.as_array().unwrap();
    assert_eq!(
        items.len(),
        3,
        "zip, xml and TLS kept; the corrupt one not: {v}"
    );
    let dmarc: Vec<_> = items.iter().filter(|r| r["kind"] == "dmarc").collect();
    assert_eq!(dmarc.len(), 2, "{v}");
    for r in &dmarc {
        assert_eq!(
            (&r["domain"], &r["messages"], &r["passed"], &r["failed"]),
            (
                &serde_json::json!("example.org"),
                &serde_json::json!(9),
                &serde_json::json!(7),
                &serde_json::json!(2)
            ),
            "{r}"
        );
    }
    let tls = items.iter().find(|r| r["kind"] == "tlsrpt").expect("tls");
    assert_eq!(
        (&tls["passed"], &tls["failed"]),
        (&serde_json::json!(40), &serde_json::json!(3))
    );
    let id = dmarc[0]["id"].as_i64().unwrap().to_string();
    let show = ok(t.cli(&["reports", "show", &id]));
    assert!(
        show.contains("203.0.113.9") && show.contains("Example Receiver"),
        "{show}"
    );

    // Every message is still mail in postmaster's INBOX, the corrupt one too.
    let count = t.imaps_script(
        "c = imaplib.IMAP4_SSL('127.0.0.1', int(port), ssl_context=ctx)\n\
         c.login(user, password)\nprint(c.select('INBOX')[1][0].decode())\n",
        "postmaster@example.org",
        "Postmaster-Pass-1!",
        &[],
    );
    assert_eq!(count.trim(), "4", "{count}");

    // The API lists them for an admin token, and a token of another
    // domain sees none of them.
    ok(t.cli(&["domain", "add", "other.example", "--no-dkim"]));
    let token = |args: &[&str]| {
        let out = ok(t.cli(args));
        out.lines()
            .find_map(|l| l.strip_prefix("secret: "))
            .expect("secret")
            .to_string()
    };
    let admin = token(&["token", "create", "--name", "ops"]);
    let other = token(&[
        "token",
        "create",
        "--name",
        "other",
        "--scope",
        "domain:other.example",
    ]);
    let get = |secret: &str, path: &str| {
        let out = Command::new("curl")
            .args(["-sk", "-H"])
            .arg(format!("Authorization: Bearer {secret}"))
            .arg(format!(
                "https://127.0.0.1:{}/api/v1{path}",
                t.port("https")
            ))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let api: serde_json::Value = serde_json::from_str(&get(&admin, "/reports?kind=dmarc")).unwrap();
    assert_eq!(api.as_array().map(Vec::len), Some(2), "{api}");
    let one: serde_json::Value =
        serde_json::from_str(&get(&admin, &format!("/reports/{id}"))).unwrap();
    assert_eq!(one["rows"].as_array().map(Vec::len), Some(2), "{one}");
    let none: serde_json::Value = serde_json::from_str(&get(&other, "/reports")).unwrap();
    assert_eq!(none, serde_json::json!([]), "{none}");
    let hidden = get(&other, &format!("/reports/{id}"));
    assert!(hidden.contains("not_found"), "{hidden}");

    // The admin page shows them.
    ok(t.cli(&["user", "admin", "postmaster@example.org", "on"]));
    let jar = t.dir.path().join("jar");
    let login = Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "-c"])
        .arg(&jar)
        .args(["--data-urlencode", "user=postmaster@example.org"])
        .args(["--data-urlencode", "password=Postmaster-Pass-1!"])
        .arg(format!(
            "https://127.0.0.1:{}/account/login",
            t.port("https")
        ))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&login.stdout), "303");
    let page = |path: &str| {
        let out = Command::new("curl")
            .args(["-sk", "-b"])
            .arg(&jar)
            .arg(format!("https://127.0.0.1:{}{path}", t.port("https")))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let html = page("/admin/reports");
    assert!(
        html.contains("Example Receiver") && html.contains("example.org") && html.contains(">40<"),
        "{html}"
    );
    let html = page(&format!("/admin/reports/view?id={id}"));
    assert!(html.contains("203.0.113.9"), "{html}");
}

/// The daily loop of `tern serve`, driven with an injected clock: the
/// newest due day first, nothing more on a second pass, the days missed
/// while a node was down caught up next time — each sent once.
#[test]
fn the_daily_loop_sends_each_day_once_and_catches_up() {
    use tern_reports::period::{DAY, day_start};
    let dns = DnsServer::start(zone(9));
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_config(dir.path(), &[], &format!("{}{REPORTS}", dns.config()));
    let config = tern_common::config::load(Some(&path), |_| true).expect("config");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = rt
        .block_on(Store::open(&config.store, &config.data_dir))
        .unwrap();
    let first = day_start(tern_common::time::now_secs()) - 4 * DAY;
    for d in 0..3 {
        rt.block_on(store.dmarc_record_insert(&record(
            first + d * DAY + 60,
            "192.0.2.10",
            "sender.example",
            true,
            true,
        )))
        .unwrap();
    }
    let reporter = rt
        .block_on(async {
            tern_reports::Reporter::new(std::sync::Arc::new(config.clone()), store.clone())
        })
        .unwrap();
    let queued = || {
        rt.block_on(store.queue_list())
            .unwrap()
            .iter()
            .filter(|q| q.sender == "reports@example.org")
            .count()
    };
    // Two hours into the next day (past `hour = 1`): the first day goes.
    let now = first + DAY + 7200;
    rt.block_on(reporter.tick(now));
    assert_eq!(queued(), 1);
    rt.block_on(reporter.tick(now));
    assert_eq!(queued(), 1, "a second pass sends nothing");
    // The node was down two days: both are caught up, in order.
    let later = first + 3 * DAY + 7200;
    rt.block_on(reporter.tick(later));
    assert_eq!(queued(), 3);
    rt.block_on(reporter.tick(later));
    assert_eq!(queued(), 3);
    let days: Vec<i64> = rt
        .block_on(store.reports_sent(0))
        .unwrap()
        .iter()
        .map(|r| r.period)
        .collect();
    assert_eq!(
        days,
        vec![first + 2 * DAY, first + DAY, first],
        "newest first"
    );
    assert_eq!(
        rt.block_on(store.report_last_day("dmarc")).unwrap(),
        Some(first + 2 * DAY)
    );
}
