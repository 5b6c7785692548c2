//! vdirsyncer (PyPI) against a real `tern serve`: a calendar pair (CalDAV)
//! and an address book pair (CardDAV), each two-way between the account and
//! local vdir folders, as a person would set it up. Items are made on both
//! sides (a local calendar nobody made on the server is created there by
//! MKCOL, RFC 5689), edited on both sides, deleted on both sides, and changed
//! on both sides between two syncs: vdirsyncer reports that conflict and
//! overwrites nothing until `conflict_resolution` says which side wins. At
//! each step the bytes on one side are the bytes on the other (tern keeps
//! what a client PUT). khal and khard then read the local folders.
//!
//! The server side is written by Python's http.client as any other CalDAV
//! or CardDAV client would. Every client runs under `timeout`, with TLS
//! verified against the test's certificate: vdirsyncer resolves names
//! through the system, so it dials `127.0.0.1`, which the certificate names
//! (an IP SAN, RFC 5280 4.2.1.6) — the name is checked as well as the chain.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::Tern;

const USER: &str = "jo+sync@example.org";
const PASSWORD: &str = "correct horse battery staple";
/// The account's homes as tern writes their hrefs (every name one
/// percent-encoded segment).
const CALENDARS: &str = "/dav/calendars/jo%2Bsync%40example.org/";
const BOOKS: &str = "/dav/addressbooks/jo%2Bsync%40example.org/";
/// Seconds any one client process may take before `timeout` ends it.
const LIMIT: &str = "120";

/// One request to tern as the account, TLS verified (chain and name)
/// against the test's certificate. `put PATH BODY`, `get PATH` (status, then
/// the body), `edit PATH OLD NEW` (a GET, then a PUT of the body with OLD
/// replaced, conditional on the ETag it got: RFC 7232 3.1), `delete PATH`,
/// `members PATH` (PROPFIND Depth 1: the members' names, sorted).
const DAV: &str = r#"
import base64, http.client, re, ssl, sys
port, cafile, user, password, cmd, path = sys.argv[1:7]
args = sys.argv[7:]
ctx = ssl.create_default_context(cafile=cafile)
auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
kind = "text/calendar" if path.endswith(".ics") else "text/vcard"

def req(method, body=None, headers=None):
    c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=30)
    h = {"Authorization": auth}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("ETag"), data

if cmd == "put":
    print(req("PUT", args[0].encode(), {"Content-Type": kind})[0])
elif cmd == "get":
    s, _, d = req("GET")
    sys.stdout.write("%d\n%s" % (s, d.decode()))
elif cmd == "edit":
    s, etag, d = req("GET")
    body = d.decode().replace(args[0], args[1]).encode()
    print(s, req("PUT", body, {"Content-Type": kind, "If-Match": etag})[0])
elif cmd == "delete":
    print(req("DELETE")[0])
elif cmd == "members":
    s, _, d = req("PROPFIND", b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>', {"Depth": "1", "Content-Type": "application/xml"})
    hrefs = [h.decode() for h in re.findall(rb"<d:href>([^<]*)</d:href>", d)]
    print(s, sorted(h[len(path):].strip("/") for h in hrefs if h != path))
"#;

/// An event from `start` to `end` (UTC, `YYYYMMDDTHHMMSSZ`).
fn event(uid: &str, start: &str, end: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tern tests//vdirsyncer//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n\
         SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// An all-day event on `day` (`YYYYMMDD`) that ends the next day `next`.
fn all_day(uid: &str, day: &str, next: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tern tests//vdirsyncer//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART;VALUE=DATE:{day}\r\n\
         DTEND;VALUE=DATE:{next}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// A vCard 3.0 (RFC 2426) with one address.
fn card(uid: &str, given: &str, family: &str, email: &str) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{given} {family}\r\nN:{family};{given};;;\r\n\
         EMAIL;TYPE=INTERNET:{email}\r\nEND:VCARD\r\n"
    )
}

/// The server, the local folders and the clients' configuration.
struct Sync {
    t: Tern,
    /// Where the local vdirs, the clients' configuration and state live.
    root: PathBuf,
}

impl Sync {
    fn start() -> Sync {
        let t = Tern::start(&["https"]);
        t.add_user(USER, PASSWORD);
        let root = t.dir.path().join("client");
        for d in ["home", "cal/default", "cal/holidays", "card/default"] {
            std::fs::create_dir_all(root.join(d)).expect("client dirs");
        }
        Sync { t, root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Run a client under `timeout`, in a home of its own, in UTC, with no
    /// proxy from the environment (vdirsyncer's aiohttp would honour one):
    /// loopback only.
    fn client(&self, program: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new("timeout");
        cmd.args(["-k", "5", LIMIT, program])
            .args(args)
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("XDG_DATA_HOME", self.path("home/.local/share"))
            .env("XDG_CACHE_HOME", self.path("home/.cache"))
            .env("TZ", "UTC")
            .env("LC_ALL", "C.UTF-8")
            .env("NO_PROXY", "*")
            .stdin(Stdio::null());
        for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
            cmd.env_remove(var).env_remove(var.to_lowercase());
        }
        cmd.output()
            .unwrap_or_else(|e| panic!("{program} (run scripts/ci-deps.sh): {e}"))
    }

    /// One request through `DAV`; its output.
    fn dav(&self, args: &[&str]) -> String {
        let port = self.t.port("https").to_string();
        let cert = self.t.cert_path();
        let mut argv = vec![
            "-c",
            DAV,
            &port,
            cert.to_str().expect("utf-8"),
            USER,
            PASSWORD,
        ];
        argv.extend_from_slice(args);
        let out = self.client("python3", &argv);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "dav {args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    /// The server's bytes at `path`, which must be there.
    fn server_item(&self, path: &str) -> String {
        let got = self.dav(&["get", path]);
        let (status, body) = got.split_once('\n').expect("status line");
        assert_eq!(status, "200", "GET {path}: {got}");
        body.to_string()
    }

    fn local_item(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// The local file `rel` and the server's `path` hold the same bytes.
    /// vdirsyncer writes what it fetched with calendar-multiget or
    /// addressbook-multiget, so a server that writes the CRs of
    /// calendar-data or address-data as they are (not `&#13;`) fails here:
    /// every XML parser turns CRLF into LF (XML 1.0 2.11), and the file has
    /// bare LF line ends where RFC 5545 3.1 and RFC 6350 3.2 want CRLF.
    fn in_step(&self, rel: &str, path: &str) -> String {
        let (local, server) = (self.local_item(rel), self.server_item(path));
        assert!(
            local == server,
            "{rel} is not the server's {path} byte for byte (CRs lost in the REPORT's XML?):\n\
             local:  {local:?}\nserver: {server:?}"
        );
        local
    }

    fn write_local(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap_or_else(|e| panic!("{rel}: {e}"));
    }

    /// vdirsyncer's configuration: one pair per kind, the account's
    /// collections and the local ones each created on the other side
    /// (`implicit = "create"` answers the question `discover` would ask),
    /// each pair's `conflict_resolution` as given (none: report it).
    fn configure(&self, cal_wins: Option<&str>, card_wins: Option<&str>) -> PathBuf {
        let url = format!("https://127.0.0.1:{}/", self.t.port("https"));
        let cert = self.t.cert_path();
        let mut conf = format!(
            "[general]\nstatus_path = \"{}\"\n",
            self.path("status").display()
        );
        for (pair, dav, ext, wins) in [
            ("cal", "caldav", ".ics", cal_wins),
            ("card", "carddav", ".vcf", card_wins),
        ] {
            let resolution = wins
                .map(|w| format!("conflict_resolution = \"{w}\"\n"))
                .unwrap_or_default();
            conf.push_str(&format!(
                "\n[pair {pair}]\na = \"{pair}_server\"\nb = \"{pair}_local\"\n\
                 collections = [\"from a\", \"from b\"]\nimplicit = \"create\"\n{resolution}\
                 \n[storage {pair}_server]\ntype = \"{dav}\"\nurl = \"{url}\"\n\
                 username = \"{USER}\"\npassword = \"{PASSWORD}\"\nverify = \"{cert}\"\n\
                 \n[storage {pair}_local]\ntype = \"filesystem\"\npath = \"{local}\"\n\
                 fileext = \"{ext}\"\n",
                cert = cert.display(),
                local = self.path(pair).display(),
            ));
        }
        let path = self.path("vdirsyncer.conf");
        std::fs::write(&path, conf).expect("vdirsyncer config");
        path
    }

    /// `vdirsyncer -c CONF ARGS`: whether it succeeded, and what it said
    /// (it reports on standard error).
    fn vdirsyncer(&self, conf: &Path, args: &[&str]) -> (bool, String) {
        let mut argv = vec!["-c", conf.to_str().expect("utf-8")];
        argv.extend_from_slice(args);
        let out = self.client("vdirsyncer", &argv);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    /// A sync that must succeed; the items it copied or deleted, sorted.
    fn sync(&self, conf: &Path) -> Vec<String> {
        let (ok, out) = self.vdirsyncer(conf, &["sync"]);
        assert!(ok, "vdirsyncer sync failed:\n{out}");
        actions(&out)
    }
}

/// vdirsyncer's lines about items ("Copying (uploading) item X to S",
/// "Copying (updating) …", "Deleting item X from S"), sorted.
fn actions(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out
        .lines()
        .filter(|l| l.starts_with("Copying ") || l.starts_with("Deleting "))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn vdirsyncer_keeps_both_sides_in_step_and_khal_and_khard_read_them() {
    let s = Sync::start();
    let conf = s.configure(None, None);
    let (cal, book) = (format!("{CALENDARS}default/"), format!("{BOOKS}default/"));

    // 1. Items on both sides; a local calendar the server does not have.
    let meeting = event(
        "server-1",
        "20300304T090000Z",
        "20300304T100000Z",
        "Team meeting",
    );
    let grace = card("grace", "Grace", "Hopper", "grace@navy.example");
    let linus = card("linus", "Linus", "Pauling", "linus@chem.example");
    for (path, body) in [
        (format!("{cal}server-1.ics"), &meeting),
        (format!("{book}grace.vcf"), &grace),
        (format!("{book}linus.vcf"), &linus),
    ] {
        assert_eq!(s.dav(&["put", &path, body]).trim(), "201", "PUT {path}");
    }
    let dentist = event("local-2", "20300306T140000Z", "20300306T143000Z", "Dentist");
    s.write_local("cal/default/local-2.ics", &dentist);
    s.write_local(
        "cal/holidays/local-1.ics",
        &all_day("local-1", "20300305", "20300306", "Holiday"),
    );
    s.write_local(
        "cal/holidays/local-3.ics",
        &all_day("local-3", "20300320", "20300321", "Spring holiday"),
    );
    s.write_local(
        "card/default/ada.vcf",
        &card("ada", "Ada", "Lovelace", "ada@engine.example"),
    );
    let (ok, out) = s.vdirsyncer(&conf, &["discover"]);
    assert!(ok, "vdirsyncer discover failed:\n{out}");
    assert!(
        out.contains("- \"default\" (\"Calendar\")")
            && out.contains("- \"default\" (\"Contacts\")"),
        "discover did not find the account's collections:\n{out}"
    );
    assert_eq!(
        s.dav(&["members", CALENDARS]).trim(),
        "207 ['default', 'holidays']",
        "the local calendar was not created on the server:\n{out}"
    );
    assert_eq!(
        s.sync(&conf),
        [
            "Copying (uploading) item ada to card_server/default",
            "Copying (uploading) item grace to card_local/default",
            "Copying (uploading) item linus to card_local/default",
            "Copying (uploading) item local-1 to cal_server/holidays",
            "Copying (uploading) item local-2 to cal_server/default",
            "Copying (uploading) item local-3 to cal_server/holidays",
            "Copying (uploading) item server-1 to cal_local/default",
        ]
    );
    for (local, server) in [
        ("cal/default/server-1.ics", format!("{cal}server-1.ics")),
        ("cal/default/local-2.ics", format!("{cal}local-2.ics")),
        (
            "cal/holidays/local-1.ics",
            format!("{CALENDARS}holidays/local-1.ics"),
        ),
        (
            "cal/holidays/local-3.ics",
            format!("{CALENDARS}holidays/local-3.ics"),
        ),
        ("card/default/ada.vcf", format!("{book}ada.vcf")),
        ("card/default/grace.vcf", format!("{book}grace.vcf")),
        ("card/default/linus.vcf", format!("{book}linus.vcf")),
    ] {
        s.in_step(local, &server);
    }
    assert_eq!(s.local_item("cal/default/server-1.ics"), meeting);

    // 2. An edit on each side.
    let moved = s.dav(&[
        "edit",
        &format!("{cal}server-1.ics"),
        "T090000Z\r\nDTEND:20300304T100000Z\r\nSUMMARY:Team meeting",
        "T110000Z\r\nDTEND:20300304T120000Z\r\nSUMMARY:Team meeting (moved)",
    ]);
    assert_eq!(moved.trim(), "200 204", "server-side edit");
    s.write_local(
        "cal/default/local-2.ics",
        &dentist.replace("Dentist", "Dentist (rescheduled)"),
    );
    s.write_local(
        "card/default/ada.vcf",
        &card("ada", "Ada", "Lovelace", "ada@analytical.example"),
    );
    assert_eq!(
        s.sync(&conf),
        [
            "Copying (updating) item ada to card_server/default",
            "Copying (updating) item local-2 to cal_server/default",
            "Copying (updating) item server-1 to cal_local/default",
        ]
    );
    let local = s.in_step("cal/default/server-1.ics", &format!("{cal}server-1.ics"));
    assert!(local.contains("SUMMARY:Team meeting (moved)"), "{local}");
    let server = s.in_step("cal/default/local-2.ics", &format!("{cal}local-2.ics"));
    assert!(server.contains("SUMMARY:Dentist (rescheduled)"), "{server}");
    let server = s.in_step("card/default/ada.vcf", &format!("{book}ada.vcf"));
    assert!(server.contains("ada@analytical.example"), "{server}");

    // 3. A deletion on each side.
    assert_eq!(
        s.dav(&["delete", &format!("{book}linus.vcf")]).trim(),
        "204"
    );
    std::fs::remove_file(s.path("cal/holidays/local-1.ics")).expect("remove local-1");
    assert_eq!(
        s.sync(&conf),
        [
            "Deleting item linus from card_local/default",
            "Deleting item local-1 from cal_server/holidays",
        ]
    );
    assert!(!s.path("card/default/linus.vcf").exists());
    let gone = s.dav(&["get", &format!("{CALENDARS}holidays/local-1.ics")]);
    assert!(
        gone.starts_with("404\n"),
        "local-1 still on the server: {gone}"
    );

    // 4. The same item changed on both sides between two syncs.
    let edited = s.dav(&[
        "edit",
        &format!("{cal}server-1.ics"),
        "Team meeting (moved)",
        "Team meeting (server)",
    ]);
    assert_eq!(edited.trim(), "200 204");
    let edited = s.dav(&[
        "edit",
        &format!("{book}ada.vcf"),
        "ada@analytical.example",
        "ada@server.example",
    ]);
    assert_eq!(edited.trim(), "200 204");
    let local_meeting = s
        .local_item("cal/default/server-1.ics")
        .replace("Team meeting (moved)", "Team meeting (local)");
    s.write_local("cal/default/server-1.ics", &local_meeting);
    let local_ada = card("ada", "Ada", "Lovelace", "ada@local.example");
    s.write_local("card/default/ada.vcf", &local_ada);
    let server_meeting = s.server_item(&format!("{cal}server-1.ics"));
    let server_ada = s.server_item(&format!("{book}ada.vcf"));
    //    Without a resolution: reported, and neither side touched.
    let (ok, out) = s.vdirsyncer(&conf, &["sync"]);
    assert!(!ok, "a conflict went unreported:\n{out}");
    for pair in ["cal/default", "card/default"] {
        assert!(
            out.contains(&format!("error: {pair}: One item changed on both sides.")),
            "no conflict reported for {pair}:\n{out}"
        );
    }
    assert_eq!(actions(&out), Vec::<String>::new(), "{out}");
    assert_eq!(s.local_item("cal/default/server-1.ics"), local_meeting);
    assert_eq!(s.local_item("card/default/ada.vcf"), local_ada);
    assert_eq!(s.server_item(&format!("{cal}server-1.ics")), server_meeting);
    assert_eq!(s.server_item(&format!("{book}ada.vcf")), server_ada);
    //    The server wins for the calendar, the local side for contacts.
    let conf = s.configure(Some("a wins"), Some("b wins"));
    assert_eq!(
        s.sync(&conf),
        [
            "Copying (updating) item ada to card_server/default",
            "Copying (updating) item server-1 to cal_local/default",
        ]
    );
    let local = s.in_step("cal/default/server-1.ics", &format!("{cal}server-1.ics"));
    assert_eq!(local, server_meeting);
    assert_eq!(s.server_item(&format!("{book}ada.vcf")), local_ada);
    assert_eq!(s.local_item("card/default/ada.vcf"), local_ada);
    //    And then nothing is left to do.
    assert_eq!(s.sync(&conf), Vec::<String>::new());

    // 5. khal and khard read what was synced.
    let khal_conf = s.path("khal.conf");
    std::fs::write(
        &khal_conf,
        format!(
            "[calendars]\n[[default]]\npath = {}\ntype = calendar\n\
             [[holidays]]\npath = {}\ntype = calendar\n\
             [locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n\
             datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n\
             local_timezone = UTC\ndefault_timezone = UTC\n\
             [sqlite]\npath = {}\n",
            s.path("cal/default").display(),
            s.path("cal/holidays").display(),
            s.path("khal.db").display(),
        ),
    )
    .expect("khal config");
    let out = s.client(
        "khal",
        &[
            "-c",
            khal_conf.to_str().expect("utf-8"),
            "list",
            "--format",
            "{start} {end} {calendar} {title}",
            "--day-format",
            "",
            "2030-03-01",
            "2030-03-31",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "khal: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "2030-03-04 11:00 2030-03-04 12:00 default Team meeting (server)",
            "2030-03-06 14:00 2030-03-06 14:30 default Dentist (rescheduled)",
            "2030-03-20 2030-03-20 holidays Spring holiday",
        ],
        "{text}"
    );

    let khard_conf = s.path("khard.conf");
    std::fs::write(
        &khard_conf,
        format!(
            "[addressbooks]\n[[default]]\npath = {}\n\
             [general]\ndefault_action = list\neditor = /bin/false\nmerge_editor = /bin/false\n",
            s.path("card/default").display(),
        ),
    )
    .expect("khard config");
    let khard_conf = khard_conf.to_str().expect("utf-8");
    let out = s.client(
        "khard",
        &[
            "-c",
            khard_conf,
            "email",
            "--parsable",
            "--remove-first-line",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "khard: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "ada@local.example\tAda Lovelace\tINTERNET",
            "grace@navy.example\tGrace Hopper\tINTERNET",
        ],
        "{text}"
    );
}
