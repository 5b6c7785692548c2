//! Shared test helpers: the in-process DNS server, a `Checker` pointed at
//! it through `[dns] servers`, and keys and signatures made by independent
//! tools (openssl, Debian's python3-dkim).

#![allow(dead_code)]

pub mod dns;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
pub use dns::{DnsServer, Zone};
use tern_common::config::{self, Source};
use tern_mailauth::Checker;

pub const HOST: &str = "mx.tern.test";

/// A checker that resolves through `dns`, with extra config lines.
pub fn checker(dns: &DnsServer, extra: &str) -> Checker {
    let text = format!("hostname = \"{HOST}\"\n{}\n{extra}\n", dns.config());
    let cfg = config::parse(&text, Source::Embedded, Path::new("/"), |_| true)
        .unwrap_or_else(|e| panic!("config: {e}"));
    Checker::new(&cfg).expect("checker")
}

/// A signing key made by openssl.
pub struct Key {
    /// "rsa" or "ed25519".
    pub algorithm: &'static str,
    /// PKCS#8 DER (for tern).
    pub pkcs8: Vec<u8>,
    /// What python3-dkim takes: PKCS#1 PEM (RSA) or the base64 seed (ed25519).
    pub for_dkimpy: Vec<u8>,
    /// Base64 for the `p=` tag.
    pub public: String,
}

fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut c = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl");
    c.stdin.take().unwrap().write_all(input).unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl Key {
    pub fn rsa(bits: u32) -> Key {
        let pem = openssl(&["genrsa", "-traditional", &bits.to_string()], b"");
        let pkcs8 = openssl(&["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"], &pem);
        let spki = openssl(&["rsa", "-pubout", "-outform", "DER"], &pem);
        Key {
            algorithm: "rsa",
            pkcs8,
            for_dkimpy: pem,
            public: base64::engine::general_purpose::STANDARD.encode(spki),
        }
    }

    pub fn ed25519() -> Key {
        let pkcs8 = openssl(
            &["genpkey", "-algorithm", "ed25519", "-outform", "DER"],
            b"",
        );
        let spki = openssl(
            &["pkey", "-inform", "DER", "-pubout", "-outform", "DER"],
            &pkcs8,
        );
        let b64 = base64::engine::general_purpose::STANDARD;
        Key {
            algorithm: "ed25519",
            for_dkimpy: b64.encode(&pkcs8[pkcs8.len() - 32..]).into_bytes(),
            pkcs8,
            // RFC 8463 4: the raw 32-byte key.
            public: b64.encode(&spki[spki.len() - 32..]),
        }
    }

    pub fn txt(&self) -> String {
        let k = if self.algorithm == "ed25519" {
            "ed25519"
        } else {
            "rsa"
        };
        format!("v=DKIM1; k={k}; p={}", self.public)
    }

    pub fn store_key(&self, domain: &str, selector: &str) -> tern_store::DkimKey {
        tern_store::DkimKey {
            domain: domain.into(),
            selector: selector.into(),
            algorithm: self.algorithm.into(),
            private_key: self.pkcs8.clone(),
            public_key: self.public.clone(),
            created: 0,
        }
    }
}

/// Run a python3-dkim script (Debian's /usr/bin/python3) with `input` on
/// stdin, the key in the file named by argv[1]; its stdout is returned.
pub fn dkimpy(script: &str, key: &[u8], input: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let kf = dir.path().join("key");
    std::fs::write(&kf, key).unwrap();
    let mut c = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(&kf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 (Debian python3-dkim)");
    c.stdin.take().unwrap().write_all(input).unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python3-dkim: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The message signed by python3-dkim (the signature prepended).
pub fn dkim_sign(message: &[u8], key: &Key, domain: &str, selector: &str) -> Vec<u8> {
    let algo = if key.algorithm == "ed25519" {
        "ed25519-sha256"
    } else {
        "rsa-sha256"
    };
    let script = format!(
        r#"
import sys, dkim
key = open(sys.argv[1], 'rb').read()
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, b'{selector}', b'{domain}', key,
                canonicalize=(b'relaxed', b'simple'),
                signature_algorithm=b'{algo}',
                include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
sys.stdout.buffer.write(sig + msg)
"#
    );
    dkimpy(&script, &key.for_dkimpy, message)
}

pub fn message(from: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: Sender <{from}>\r\n\
To: rcpt@tern.test\r\n\
Subject: {subject}\r\n\
Date: Mon, 23 Nov 2026 07:00:00 +0000\r\n\
Message-ID: <{subject}@example>\r\n\
\r\n\
Hello.\r\n\
This is the body.\r\n"
    )
    .into_bytes()
}

/// The result tokens of the Authentication-Results header, unfolded.
pub fn unfold(header: &str) -> String {
    header.replace("\r\n\t", " ").replace("\r\n", "")
}

/// The `method=result` clauses of an Authentication-Results header, each
/// with the rest of its clause (properties and comments).
pub fn clauses(header: &str) -> Vec<(String, String, String)> {
    let h = unfold(header);
    let mut out = Vec::new();
    for part in h.split(';').skip(1) {
        let part = part.trim();
        let Some((method, rest)) = part.split_once('=') else {
            continue;
        };
        let (result, props) = rest.split_once(' ').unwrap_or((rest, ""));
        out.push((method.to_string(), result.to_string(), props.to_string()));
    }
    out
}

/// The result of the first `method` clause whose text contains `needle`.
pub fn result_of(header: &str, method: &str, needle: &str) -> String {
    clauses(header)
        .into_iter()
        .find(|(m, _, p)| m == method && p.contains(needle))
        .map(|(_, r, _)| r)
        .unwrap_or_else(|| panic!("no {method} clause with {needle:?} in {header}"))
}
