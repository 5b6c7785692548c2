//! The configuration's tests: every documented bound, every error naming
//! its key and line, and README documenting every key the parser accepts.

use std::net::IpAddr;

use super::*;

fn all(_: ListenerKind) -> bool {
    true
}

fn p(src: &str) -> Result<Config, ConfigErrors> {
    parse(src, Source::Embedded, Path::new("/"), all)
}

/// Every bound README documents is enforced.
#[test]
fn documented_bounds_are_enforced() {
    for (src, key) in [
        ("[pop3]\nidle_timeout_secs = 5\n", "pop3.idle_timeout_secs"),
        ("[imap]\nidle_timeout_secs = 60\n", "imap.idle_timeout_secs"),
        ("[imap]\nmax_line_length = 100\n", "imap.max_line_length"),
        ("[smtp]\nmax_line_length = 10\n", "smtp.max_line_length"),
    ] {
        let e = p(src).unwrap_err();
        assert_eq!(e.errors[0].key, key, "{src}");
        assert!(e.errors[0].message.contains("at least"), "{src}: {e:?}");
    }
    assert!(p("[pop3]\nidle_timeout_secs = 600\n").is_ok());
}

#[test]
fn a_listeners_table_is_explained() {
    let e = p("[listeners]\nkind = \"smtp\"\n").unwrap_err();
    assert_eq!(e.errors[0].key, "listeners");
    assert!(e.errors[0].message.contains("[[listeners]]"), "{e:?}");
}

#[test]
fn log_level_and_format_are_checked() {
    let c = p("[log]\nlevel = \"warn,tern_smtp=debug\"\nformat = \"json\"\n").unwrap();
    assert_eq!(c.log.level, "warn,tern_smtp=debug");
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(p("").unwrap().log, LogConfig::default());
    let e = p("[log]\nlevel = \"loud\"\n").unwrap_err();
    assert_eq!(e.errors[0].key, "log.level");
    assert_eq!(e.errors[0].line, Some(2));
    assert!(p("[log]\nlevel = \"tern=verbose\"\n").is_err());
    assert!(p("[log]\nformat = \"xml\"\n").is_err());
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let e = p("hostname = \"mx.example.org\"\nhostnme = \"x\"\n").unwrap_err();
    assert_eq!(e.errors[0].key, "hostnme");
    assert_eq!(e.errors[0].line, Some(2));
}

#[test]
fn wrong_type_is_named() {
    let e = p("[[listeners]]\nkind = \"smtp\"\nport = \"twenty-five\"\n").unwrap_err();
    assert_eq!(e.errors[0].line, Some(3));
    assert!(e.to_string().contains("port"), "{e}");
}

#[test]
fn bad_values_are_named() {
    let e = p("hostname = \"not a host\"\n").unwrap_err();
    assert_eq!(e.errors[0].key, "hostname");
    let e = p("[smtp]\nmax_recipients = 0\n").unwrap_err();
    assert_eq!(e.errors[0].key, "smtp.max_recipients");
    assert_eq!(e.errors[0].line, Some(2));
    let e = p("[[listeners]]\nkind = \"gopher\"\n").unwrap_err();
    assert_eq!(e.errors[0].line, Some(2));
    let e = p("[store]\nkind = \"postgres\"\n").unwrap_err();
    assert_eq!(e.errors[0].key, "store.url");
}

#[test]
fn imap_section() {
    let c = p("").unwrap();
    assert_eq!(c.imap, ImapConfig::default());
    let c = p("[imap]\nmax_literal_size = 1000\nidle_timeout_secs = 3600\n").unwrap();
    assert_eq!(c.imap.max_literal_size, 1000);
    assert_eq!(c.imap.idle_timeout_secs, 3600);
    assert_eq!(c.imap.max_line_length, 64 * 1024);
    let e = p("[imap]\nmax_literal = 5\n").unwrap_err();
    assert_eq!(e.errors[0].line, Some(2));
    let e = p("[imap]\nidle_timeout_secs = 60\n").unwrap_err();
    assert_eq!(e.errors[0].key, "imap.idle_timeout_secs");
    let e = p("[imap]\nmax_line_length = 100\n").unwrap_err();
    assert_eq!(e.errors[0].key, "imap.max_line_length");
    let c = p("[imap]\nmemory_budget_mib = 512\n").unwrap();
    assert_eq!(c.imap.memory_budget_mib, 512);
    // The budget must fit the largest literal (64 MiB by default).
    let e = p("[imap]\nmemory_budget_mib = 16\n").unwrap_err();
    assert_eq!(e.errors[0].key, "imap.memory_budget_mib");
    let e = p("[imap]\nmemory_budget_mib = 0\n").unwrap_err();
    assert_eq!(e.errors[0].key, "imap.memory_budget_mib");
    let e = p("[imap]\nmax_literal_size = 1000000000\n").unwrap_err();
    assert_eq!(e.errors[0].key, "imap.max_literal_size");
}

#[test]
fn listener_defaults_to_loopback_and_standard_port() {
    let c = p("").unwrap();
    assert!(c.listeners.is_empty());
    let e = p("[[listeners]]\nkind = \"smtp\"\n").unwrap_err();
    assert_eq!(e.errors[0].key, "tls");
    let c = p("[[listeners]]\nkind = \"http\"\n").unwrap();
    assert_eq!(c.listeners[0].addr, IpAddr::from([127, 0, 0, 1]));
    assert_eq!(c.listeners[0].port, 80);
}

#[test]
fn abuse_sections_parse_with_defaults() {
    let c = p("[limits]\nglobal = 5\n[limits.imap]\nper_user_ip = 3\n[greylist]\ndomains = [\"Example.org\"]\n").unwrap();
    assert_eq!(c.limits.global, 5);
    assert_eq!(c.limits.families[&Family::Imap].per_user_ip, 3);
    assert_eq!(
        c.limits.families[&Family::Imap].per_ip,
        100,
        "unset keys keep their defaults"
    );
    assert_eq!(c.greylist.domains, vec!["example.org"]);
    assert_eq!(c.greylist.delay_secs, 300);
    assert!(c.tarpit.enabled);
    let e = p("[limits.imap]\nper_usr = 3\n").unwrap_err();
    assert_eq!(e.errors[0].key, "per_usr");
    let e = p("[greylist]\ndomains = [\"bad domain\"]\n").unwrap_err();
    assert_eq!(e.errors[0].key, "greylist.domains");
}

#[test]
fn dns_and_checks() {
    let c = p("[dns]\nservers = [\"127.0.0.1:5353\"]\n[checks]\ndmarc_quarantine = \"accept\"\ntrusted_networks = [\"10.0.0.0/8\", \"2001:db8::/32\"]\n").unwrap();
    assert_eq!(c.dns.servers[0].port(), 5353);
    assert_eq!(c.checks.dmarc_quarantine, Verdict::Accept);
    assert_eq!(c.checks.dmarc_reject, Verdict::Reject);
    assert_eq!(c.checks.time_limit_secs, 30);
    assert!(c.checks.is_trusted("10.1.2.3".parse().unwrap()));
    assert!(c.checks.is_trusted("2001:db8:ff::1".parse().unwrap()));
    assert!(!c.checks.is_trusted("11.0.0.1".parse().unwrap()));
    let e = p("[checks]\ntrusted_networks = [\"10.0.0.0/40\"]\n").unwrap_err();
    assert_eq!(e.errors[0].key, "checks.trusted_networks");
    let e = p("[dns]\nservers = [\"nowhere\"]\n").unwrap_err();
    assert_eq!(e.errors[0].line, Some(2));
    assert!(c.dns.dnssec && c.dns.trust_anchor.is_none());
    let c = p("[dns]\ndnssec = false\n").unwrap();
    assert!(!c.dns.dnssec);
    let e = p("[dns]\ntrust_anchor = \"/nonexistent/anchor.keys\"\n").unwrap_err();
    assert_eq!(e.errors[0].key, "dns.trust_anchor");
    let d = tempfile::tempdir().unwrap();
    let anchor = |text: &str| {
        let f = d.path().join("anchor.keys");
        std::fs::write(&f, text).unwrap();
        p(&format!("[dns]\ntrust_anchor = \"{}\"\n", f.display()))
    };
    // The IANA root KSK-2017, as published.
    let root = ". 172800 IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=\n";
    let c = anchor(root).unwrap();
    assert!(c.dns.trust_anchor.is_some());
    for bad in ["", "not a key\n", ". IN DNSKEY 257 3 8 !!!\n"] {
        let e = anchor(bad).unwrap_err();
        assert_eq!(e.errors[0].key, "dns.trust_anchor", "{bad:?}");
    }
}

#[test]
fn queue_and_relay() {
    let c = p("[queue]\nretry_base_secs = 1\nremote_port = 2525\n[relay]\nhost = \"smtp.example.net\"\nusername = \"u\"\npassword = \"p\"\n").unwrap();
    assert_eq!(c.queue.retry_base_secs, 1);
    assert_eq!(c.queue.remote_port, 2525);
    assert_eq!(c.queue.give_up_after_secs, 5 * 86400);
    let r = c.relay.unwrap();
    assert_eq!((r.port, r.tls), (587, RelayTls::Starttls));
    let e = p("[relay]\nhost = \"h\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\n")
        .unwrap_err();
    assert_eq!(e.errors[0].key, "relay.tls");
    let e = p("[relay]\nhost = \"h\"\nusername = \"u\"\n").unwrap_err();
    assert_eq!(e.errors[0].key, "relay");
    let e = p("[queue]\nworkers = 0\n").unwrap_err();
    assert_eq!(e.errors[0].key, "queue.workers");
}

#[test]
fn unimplemented_kind_is_refused() {
    fn none(_: ListenerKind) -> bool {
        false
    }
    let e = parse(
        "[[listeners]]\nkind = \"http\"\n",
        Source::Embedded,
        Path::new("/"),
        none,
    )
    .unwrap_err();
    assert_eq!(e.errors[0].key, "listeners[0].kind");
}

#[test]
fn embedded_default_binds_loopback_only() {
    let c = embedded_default(all);
    assert!(!c.listeners.is_empty());
    assert!(c.listeners.iter().all(|l| l.addr.is_loopback()));
    assert!(
        c.listeners
            .iter()
            .any(|l| l.kind == ListenerKind::Smtp && l.port == 2525)
    );
}

/// The fields the parser accepts at `src`'s probe key, read from serde's
/// "unknown field `__probe`, expected one of `a`, `b`" (None: not a table).
fn fields_at(src: &str) -> Option<Vec<String>> {
    let e = toml::from_str::<RawConfig>(src).err()?;
    let msg = e.message();
    if !msg.contains("unknown field `__probe`") {
        return None;
    }
    let expected = msg.split_once(", expected ")?.1;
    Some(
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

/// Every dotted key the parser accepts, found by asking it about a key it
/// does not know, table by table: derived from the raw forms themselves.
fn accepted_keys() -> Vec<String> {
    let mut keys = Vec::new();
    let mut tables: Vec<String> = vec![String::new()];
    while let Some(t) = tables.pop() {
        let probes = if t.is_empty() {
            vec!["__probe = 1\n".to_string()]
        } else {
            vec![
                format!("[{t}]\n__probe = 1\n"),
                format!("[[{t}]]\n__probe = 1\n"),
            ]
        };
        match probes.iter().find_map(|p| fields_at(p)) {
            Some(fields) => {
                for f in fields {
                    tables.push(if t.is_empty() { f } else { format!("{t}.{f}") });
                }
            }
            None => keys.push(t),
        }
    }
    keys.sort();
    keys
}

/// The dotted keys README shows in its TOML blocks (commented-out lines
/// included), with the header text each key sits under.
fn readme_keys(readme: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut in_block, mut table, mut header) = (false, String::new(), String::new());
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            (table, header) = (String::new(), String::new());
            continue;
        }
        let l = line.trim_start_matches(['#', ' ']);
        if !in_block || l.is_empty() {
            continue;
        }
        if l.starts_with('[') {
            let name = l.trim_start_matches('[');
            table = name[..name.find(']').unwrap_or(name.len())].to_string();
            header = l.to_string();
        } else if let Some((k, _)) = l.split_once('=')
            && !k.trim().is_empty()
            && k.trim()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            let k = k.trim();
            let dotted = if table.is_empty() {
                k.to_string()
            } else {
                format!("{table}.{k}")
            };
            out.push((dotted, header.clone()));
        }
    }
    out
}

/// README's configuration reference names every key the parser accepts,
/// so the documentation and the code cannot drift apart.
#[test]
fn readme_documents_every_key() {
    let keys = accepted_keys();
    // The probe itself works: a change of serde's wording must not make
    // this test pass vacuously.
    assert!(keys.len() > 80, "{keys:?}");
    assert!(
        keys.contains(&"imap.memory_budget_mib".to_string()),
        "{keys:?}"
    );
    assert!(keys.contains(&"listeners.kind".to_string()), "{keys:?}");
    let readme = include_str!("../../../../README.md");
    let documented = readme_keys(readme);
    let mut missing = Vec::new();
    for k in &keys {
        let parts: Vec<&str> = k.split('.').collect();
        let found = match parts.as_slice() {
            // README shows [limits.smtp] and names the other families on
            // its header line: `also [limits.submission|imap|...]`.
            ["limits", fam, key] if !documented.iter().any(|(d, _)| d == k) => {
                documented.iter().any(|(d, h)| {
                    *d == format!("limits.smtp.{key}") && (fam == &"smtp" || h.contains(fam))
                })
            }
            _ => documented.iter().any(|(d, _)| d == k),
        };
        if !found {
            missing.push(k.clone());
        }
    }
    assert!(missing.is_empty(), "keys missing from README: {missing:?}");
}

/// `[http]`: defaults (metrics for loopback only, no trusted proxy) and
/// every bad value refused with its key.
#[test]
fn http_section_defaults_and_checks() {
    let c = p("").unwrap();
    assert!(c.http.metrics_allowed("127.0.0.1".parse().unwrap()));
    assert!(c.http.metrics_allowed("::1".parse().unwrap()));
    assert!(!c.http.metrics_allowed("127.0.0.2".parse().unwrap()));
    assert!(!c.http.is_trusted_proxy("127.0.0.1".parse().unwrap()));
    assert_eq!(c.http.public_url, None);
    let c = p(
        "[http]\ntrusted_proxies = [\"10.0.0.0/8\"]\nmetrics_allow = []\n\
               public_url = \"https://mail.example.org/\"\nmax_body_kib = 64\n",
    )
    .unwrap();
    assert!(c.http.is_trusted_proxy("10.1.2.3".parse().unwrap()));
    assert!(!c.http.metrics_allowed("127.0.0.1".parse().unwrap()));
    assert_eq!(
        c.http.public_url.as_deref(),
        Some("https://mail.example.org")
    );
    assert_eq!(c.http.max_body_kib, 64);
    for (src, key) in [
        (
            "[http]\nheader_timeout_secs = 0\n",
            "http.header_timeout_secs",
        ),
        ("[http]\nidle_timeout_secs = 0\n", "http.idle_timeout_secs"),
        (
            "[http]\nrequest_timeout_secs = 0\n",
            "http.request_timeout_secs",
        ),
        ("[http]\nmax_body_kib = 0\n", "http.max_body_kib"),
        (
            "[http]\ntrusted_proxies = [\"10.0.0.0/33\"]\n",
            "http.trusted_proxies",
        ),
        ("[http]\nmetrics_allow = [\"nope\"]\n", "http.metrics_allow"),
        ("[http]\npublic_url = \"ftp://x\"\n", "http.public_url"),
        ("[http]\nmetrics_token = \"short\"\n", "http.metrics_token"),
        ("[http]\nbody_limit = 1\n", "body_limit"),
    ] {
        let e = p(src).unwrap_err();
        assert_eq!(e.errors[0].key, key, "{src}: {e:?}");
    }
}

/// The embedded default serves HTTP on 8080 and HTTPS on 8443.
#[test]
fn embedded_default_runs_both_http_listeners() {
    let c = embedded_default(all);
    for (kind, port) in [(ListenerKind::Http, 8080), (ListenerKind::Https, 8443)] {
        assert!(
            c.listeners.iter().any(|l| l.kind == kind && l.port == port),
            "{:?}",
            c.listeners
        );
    }
}

/// `[acme]`: defaults (Let's Encrypt, tls-alpn-01, names worked out at run
/// time), no `[tls]` needed, and every bad value refused with its key.
#[test]
fn acme_section_defaults_and_checks() {
    let https = "[[listeners]]\nkind = \"https\"\nport = 0\n";
    let c = p(&format!(
        "[acme]\ncontact = [\"Postmaster@Example.org\"]\n{https}"
    ))
    .unwrap();
    let a = c.acme.unwrap();
    assert_eq!(a.directory, LETS_ENCRYPT);
    assert_eq!(a.challenge, AcmeChallenge::TlsAlpn01);
    assert_eq!(a.contact, vec!["mailto:postmaster@example.org".to_string()]);
    assert!(a.names.is_empty() && a.renew_before_days.is_none());
    assert!(c.tls.is_none(), "[acme] stands in for [tls]");
    let c = p(&format!(
        "[acme]\nchallenge = \"http-01\"\nnames = [\"MX.Example.org\", \"mx.example.org\"]\n\
         renew_before_days = 30\n[[listeners]]\nkind = \"http\"\nport = 0\n{https}"
    ))
    .unwrap();
    let a = c.acme.unwrap();
    assert_eq!(a.names, vec!["mx.example.org".to_string()]);
    assert_eq!(a.renew_before_days, Some(30));
    for (src, key) in [
        // The directory is fetched over HTTPS only (RFC 8555 6.1).
        ("directory = \"http://ca.example/dir\"", "acme.directory"),
        ("challenge = \"dns-01\"", "acme.challenge"),
        ("names = [\"*.example.org\"]", "acme.names"),
        ("names = []", "acme.names"),
        ("contact = [\"not an address\"]", "acme.contact"),
        ("renew_before_days = 0", "acme.renew_before_days"),
        ("ca_root = \"/nonexistent/root.pem\"", "acme.ca_root"),
        // http-01 needs an http listener, and only https is configured.
        ("challenge = \"http-01\"", "acme.challenge"),
    ] {
        let e = p(&format!("[acme]\n{src}\n{https}")).unwrap_err();
        assert_eq!(e.errors[0].key, key, "{src}: {e:?}");
    }
    // tls-alpn-01 is answered on https.
    let e = p("[acme]\n[[listeners]]\nkind = \"imaps\"\nport = 0\n").unwrap_err();
    assert_eq!(e.errors[0].key, "acme.challenge", "{e:?}");
}

#[test]
fn tls_watch_secs_defaults_to_a_minute() {
    let d = tempfile::tempdir().unwrap();
    let (c, k) = crate::tls::self_signed(d.path(), "mx.example.org").unwrap();
    let src = |extra: &str| {
        format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\n{extra}",
            c.display(),
            k.display()
        )
    };
    assert_eq!(p(&src("")).unwrap().tls.unwrap().watch_secs, 60);
    assert_eq!(
        p(&src("watch_secs = 0\n")).unwrap().tls.unwrap().watch_secs,
        0
    );
}

#[test]
fn sieve_section() {
    let c = p("").unwrap();
    assert_eq!(c.sieve, SieveConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let src = format!(
        "[sieve]\nglobal_dir = \"{}\"\nmax_instructions = 500\nmax_redirects = 2\nmax_hops = 10\n",
        dir.path().display()
    );
    let c = p(&src).unwrap();
    assert_eq!(c.sieve.global_dir.as_deref(), Some(dir.path()));
    assert_eq!(
        (
            c.sieve.max_instructions,
            c.sieve.max_redirects,
            c.sieve.max_hops
        ),
        (500, 2, 10)
    );
    for (src, key) in [
        (
            "[sieve]\nglobal_dir = \"/nonexistent/sieve\"\n",
            "sieve.global_dir",
        ),
        ("[sieve]\nmax_redirects = 0\n", "sieve.max_redirects"),
        ("[sieve]\nmax_redirects = 100\n", "sieve.max_redirects"),
        ("[sieve]\nmax_instructions = 0\n", "sieve.max_instructions"),
    ] {
        let e = p(src).unwrap_err();
        assert_eq!(e.errors[0].key, key, "{src}: {e:?}");
        assert_eq!(e.errors[0].line, Some(2), "{src}: {e:?}");
    }
}

#[test]
fn managesieves_needs_a_port() {
    let e = p("[tls]\ncert = \"/c\"\nkey = \"/k\"\n[[listeners]]\nkind = \"managesieves\"\n")
        .unwrap_err();
    assert!(
        e.errors
            .iter()
            .any(|e| e.key == "listeners[0].port" && e.message.contains("no standard port")),
        "{e:?}"
    );
    assert!(ListenerKind::Managesieves.implicit_tls());
    assert!(!ListenerKind::ALL.contains(&ListenerKind::Managesieves));
}

#[test]
fn a_domain_setting_overrides_greylisting_and_tarpitting() {
    let c = p(
        "[greylist]\ndomains = [\"example.org\"]\ndelay_secs = 60\n[tarpit]\nbase_delay_ms = 700\n",
    )
    .unwrap();
    assert_eq!(c.greylist.delay_for("example.org", None), Some(60));
    assert_eq!(c.greylist.delay_for("other.example", None), None);
    assert_eq!(c.greylist.delay_for("example.org", Some(0)), None);
    assert_eq!(c.greylist.delay_for("other.example", Some(90)), Some(90));
    assert_eq!(c.tarpit.base_for(None), Some(700));
    assert_eq!(c.tarpit.base_for(Some(0)), None);
    assert_eq!(c.tarpit.base_for(Some(50)), Some(50));
    let off = p("[tarpit]\nenabled = false\n").unwrap();
    assert_eq!(off.tarpit.base_for(None), None);
    assert_eq!(
        off.tarpit.base_for(Some(50)),
        Some(50),
        "a domain may turn it on"
    );
}

/// `[reports]`: off by default with postmaster read; sending needs a from
/// address; bad values are refused with their key.
#[test]
fn reports_section_defaults_and_checks() {
    let c = p("").unwrap();
    assert!(!c.reports.dmarc && !c.reports.tlsrpt);
    assert_eq!(c.reports.hour, 1);
    assert!(c.reports.receives("postmaster@example.org"));
    assert!(!c.reports.receives("alice@example.org"));
    let e = p("[reports]\ndmarc = true\n").unwrap_err();
    assert_eq!(e.errors[0].key, "reports.from");
    let e = p("[reports]\nhour = 24\n").unwrap_err();
    assert_eq!(e.errors[0].key, "reports.hour");
    let e = p("[reports]\nreceive = [\"no body\"]\n").unwrap_err();
    assert_eq!(e.errors[0].key, "reports.receive");
    let c = p("[reports]\ntlsrpt = true\nfrom = \"reports@example.org\"\nreceive = [\"dmarc@example.org\", \"tls\"]\n").unwrap();
    assert!(c.reports.tlsrpt);
    assert!(c.reports.receives("DMARC@example.org") && c.reports.receives("tls@other.example"));
    assert!(!c.reports.receives("postmaster@example.org"));
}

/// `[source_get]`: off in both directions by default; `unidentified` is
/// one of three words.
#[test]
fn source_get_section_defaults_and_checks() {
    let c = p("").unwrap();
    assert!(!c.source_get.send && !c.source_get.receive);
    assert_eq!(c.source_get.retention_secs, 26 * 3600);
    let e = p("[source_get]\nunidentified = \"drop\"\n").unwrap_err();
    assert_eq!(e.errors[0].key, "source_get.unidentified");
    let c = p("[source_get]\nreceive = true\nunidentified = \"junk\"\n").unwrap();
    assert_eq!(c.source_get.unidentified, crate::config::Unidentified::Junk);
}
