//! CalDAV and CardDAV end to end: Python's caldav (PyPI) against a real
//! `tern serve` on the https listener — discovery, calendars, events with
//! recurrences, exceptions, all-day dates and time zones, time-range
//! searches across a DST change, conditional updates, deletes and sync
//! tokens; curl for the protocol details (401 probing, OPTIONS, Depth
//! infinity, sync-collection with a limit, another user's home, bytes
//! kept exactly).

mod common;

use common::Tern;

const CALDAV: &str = include_str!("scripts/dav_caldav.py");

fn caldav(t: &Tern, user: &str, pw: &str) -> Vec<String> {
    let port = t.port("https").to_string();
    let cert = t.cert_path();
    common::python(CALDAV, &[&port, cert.to_str().unwrap(), user, pw])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn python_caldav_discovers_writes_searches_and_syncs() {
    let t = Tern::start(&["https"]);
    t.add_user("jo+dav@example.org", "correct horse battery staple");
    let out = caldav(&t, "jo+dav@example.org", "correct horse battery staple");
    let want = [
        "principal /dav/principals/jo%2Bdav%40example.org/",
        "calendars ['Calendar']",
        // (caldav shows `%40` as `@` once it has parsed the href)
        "made /dav/calendars/jo%2Bdav@example.org/work%2B1/",
        "events ['allday-1', 'single-1', 'weekly-1']",
        "todos ['todo-1']",
        "week of 4 March ['single-1', 'weekly-1']",
        "18 March (excluded) []",
        "25 March 08:00 UTC ['weekly-1']",
        "8 April 07:00 UTC ['weekly-1']",
        "8 April 08:00 UTC []",
        "the all-day one ['allday-1']",
        "the moved one ['weekly-1']",
        "in June []",
        "busy ['20240304T080000Z/20240304T083000Z', '20240305T100000Z/20240305T110000Z']",
        "param-filter ['weekly-1.ics']",
        "update 204",
        "stale update 412",
        "after Dentist (moved)",
        "changed since ['allday-1.ics', 'single-1.ics']",
        "sync token moved True",
    ];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(out.get(i).map(String::as_str), Some(*w), "{out:#?}");
    }
}

const PROTOCOL: &str = include_str!("scripts/dav_protocol.py");

#[test]
fn the_protocol_request_by_request() {
    let t = Tern::start(&["https"]);
    t.add_user("jo+dav@example.org", "correct horse battery staple");
    t.add_user("sam@example.org", "another secret here");
    let app = String::from_utf8_lossy(
        &t.cli(&[
            "user",
            "app-password",
            "add",
            "jo+dav@example.org",
            "--name",
            "phone",
        ])
        .stdout,
    )
    .lines()
    .find_map(|l| l.strip_prefix("password: ").map(str::to_string))
    .expect("an app password");
    let port = t.port("https").to_string();
    let cert = t.cert_path();
    let out = common::python(
        PROTOCOL,
        &[
            &port,
            cert.to_str().unwrap(),
            "jo+dav@example.org",
            "correct horse battery staple",
            "sam@example.org",
            &app,
        ],
    );
    let want = [
        "no credentials 401 Basic realm=\"tern\", charset=\"UTF-8\"",
        "app password 207",
        "wrong password 401",
        "options 200 1, 3, calendar-access, addressbook, extended-mkcol",
        "depth infinity 403 True",
        "another user's home 404",
        "home members 207 ['/dav/addressbooks/jo%2Bdav%40example.org/', '/dav/addressbooks/jo%2Bdav%40example.org/default/']",
        "report on a home 403 True",
        "vcard apple.vcf 201 200 True True",
        "vcard google.vcf 201 200 True True",
        "vcard ada lovelace.vcf 201 200 True True",
        "same uid again 403 True",
        "if-none-match on an existing one 412",
        "not a vcard 403 True",
        "addressbook-query 207 ['/dav/addressbooks/jo%2Bdav%40example.org/default/google.vcf']",
        "sync with a limit 207 3 True",
        "the rest 207 1",
        "after a delete 207 ['google.vcf'] True",
        "a token from the future 403 True",
        "mkcol 201",
        "copy 201",
        "move onto an existing one without overwrite 412",
        "move 201 True 404",
        "encoded ['/dav/addressbooks/jo%2Bdav%40example.org/Ty%C3%B6%20kontaktit/']",
        "proppatch 207 True",
        "proppatch of a live property 207 True True",
    ];
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got, want, "{out}");
}

/// RFC 6578: a sync token still works after the server restarts, and
/// names exactly what changed since.
#[test]
fn sync_tokens_survive_a_restart() {
    let mut t = Tern::start(&["https"]);
    t.add_user("jo@example.org", "correct horse battery staple");
    let script = "import base64, http.client, re, ssl, sys
port, cafile, step = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
auth = 'Basic ' + base64.b64encode(b'jo@example.org:correct horse battery staple').decode()
book = '/dav/addressbooks/jo%40example.org/default/'
def req(method, path, body=b'', headers=None):
    c = http.client.HTTPSConnection('127.0.0.1', int(port), context=ctx, timeout=30)
    h = dict(headers or {}, Authorization=auth)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    return r.status, r.read()
card = lambda uid: ('BEGIN:VCARD\\r\\nVERSION:3.0\\r\\nFN:%s\\r\\nUID:%s\\r\\nEND:VCARD\\r\\n' % (uid, uid)).encode()
sync = '<d:sync-collection xmlns:d=\"DAV:\"><d:sync-token>%s</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>'
if step == 'before':
    req('PROPFIND', '/dav/addressbooks/jo%40example.org/', headers={'Depth': '0'})
    req('PUT', book + 'a.vcf', card('a'))
    s, d = req('REPORT', book, (sync % '').encode())
    print(re.search(rb'<d:sync-token>([^<]*)</d:sync-token>', d).group(1).decode())
else:
    token = sys.argv[4]
    req('PUT', book + 'b.vcf', card('b'))
    s, d = req('REPORT', book, (sync % token).encode())
    print(s, [h.decode().rsplit('/', 1)[1] for h in re.findall(rb'<d:href>([^<]*)</d:href>', d)])
";
    let cert = t.cert_path();
    let cert = cert.to_str().unwrap().to_string();
    let token = common::python(script, &[&t.port("https").to_string(), &cert, "before"])
        .trim()
        .to_string();
    assert!(token.starts_with("data:,tern-sync-"), "{token}");
    t.stop();
    t.launch();
    let out = common::python(
        script,
        &[&t.port("https").to_string(), &cert, "after", &token],
    );
    assert_eq!(out.trim(), "207 ['b.vcf']", "only what changed since");
}
