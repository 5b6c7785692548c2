# Hostile DAV requests, one line per case: "case: what came back".
import base64, http.client, socket, ssl, sys, threading, time
port, cafile, user, password = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
from urllib.parse import quote
cal = "/dav/calendars/%s/default/" % quote(user, safe="")

def req(method, path, body=b"", headers=None, creds=True, timeout=60):
    c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=timeout)
    h = dict(headers or {})
    if creds:
        h["Authorization"] = auth
    if isinstance(body, str):
        body = body.encode()
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data

def case(name, f):
    t = time.monotonic()
    try:
        out = f()
    except Exception as e:
        out = "error %s" % type(e).__name__
    print("%s: %s" % (name, out))
    print("%s took: %.1f" % (name, time.monotonic() - t), file=sys.stderr)

# Deep nesting: refused without recursion.
deep = "<d:propfind xmlns:d=\"DAV:\">" + "<d:prop>" * 50000 + "</d:prop>" * 50000 + "</d:propfind>"
case("deep xml", lambda: req("PROPFIND", cal, deep, {"Depth": "0"})[0])
# An entity bomb: no DTD is accepted at all.
bomb = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&c;</d:displayname></d:prop></d:propfind>'
case("entity bomb", lambda: req("PROPFIND", cal, bomb, {"Depth": "0"})[0])
# Many property names, and a multiget naming 15,000 members.
many = "<d:propfind xmlns:d=\"DAV:\"><d:prop>" + "".join("<x:p%d xmlns:x=\"urn:x\"/>" % i for i in range(15000)) + "</d:prop></d:propfind>"
case("many props", lambda: req("PROPFIND", cal, many, {"Depth": "0"})[0])
hrefs = "".join("<d:href>%s%d.ics</d:href>" % (cal, i) for i in range(15000))
mg = "<c:calendar-multiget xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:prop><d:getetag/></d:prop>%s</c:calendar-multiget>" % hrefs
case("huge multiget", lambda: req("REPORT", cal, mg, {"Depth": "1"})[0])
# A rule that never matches, and one with a million instances: bounded.
def ev(uid, rule):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20240101T000000Z\r\n"
            "DTSTART:20240101T000000Z\r\nDTEND:20240101T000001Z\r\nRRULE:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n" % (uid, rule))
case("never matching rule", lambda: req("PUT", cal + "never.ics", ev("never", "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30"), {"Content-Type": "text/calendar"})[0])
case("a million instances", lambda: req("PUT", cal + "million.ics", ev("million", "FREQ=SECONDLY;COUNT=1000000"), {"Content-Type": "text/calendar"})[0])
q = ('<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter>'
     '<c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20300101T000000Z" end="20300102T000000Z"/>'
     '</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>')
case("time range far out", lambda: req("REPORT", cal, q, {"Depth": "1"})[0])
# Bodies: over the limit refused; before login nothing is read.
def over_limit():
    # 413 before the body is read; the server may close while the client
    # is still sending, which the client sees as the connection ending.
    try:
        code = req("PUT", cal + "big.ics", ev("big", "FREQ=DAILY;COUNT=2").replace("END:VEVENT", "X-PAD:" + "a" * (2 << 20) + "\r\nEND:VEVENT"), {"Content-Type": "text/calendar"})[0]
    except (ssl.SSLError, ConnectionError, http.client.HTTPException):
        return "refused"
    return "refused" if code == 413 else code
case("resource over the limit", over_limit)
def unauth_flood():
    # 1 MiB bodies without credentials: answered 401 at once, the body
    # never read (the client may see the connection end while it sends).
    seen = set()
    for _ in range(20):
        try:
            seen.add(str(req("PUT", cal + "x.ics", b"x" * (1 << 20), creds=False)[0]))
        except (ssl.SSLError, ConnectionError, http.client.HTTPException):
            seen.add("closed")
    return "refused" if seen <= {"401", "closed"} else ",".join(sorted(seen))
case("unauthenticated bodies", unauth_flood)
# Names with invisible and odd characters stay names, never paths.
case("odd names", lambda: ",".join(str(req("MKCALENDAR", "/dav/calendars/%s/%s/" % (quote(user, safe=""), quote(n, safe="")))[0]) for n in ["a\u200bb", "..", "x%2Fy", "\u202eevil"]))
# A slow body: the request time-out ends it, others are served meanwhile.
def slow():
    s = socket.create_connection(("127.0.0.1", int(port)))
    s = ctx.wrap_socket(s)
    s.sendall(("PUT %sslow.ics HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: 100000\r\n\r\n" % (cal, auth)).encode())
    s.sendall(b"BEGIN:")
    return s
held = [slow() for _ in range(5)]
case("served while slow bodies wait", lambda: req("PROPFIND", cal, "", {"Depth": "0"})[0])
for s in held:
    s.close()
