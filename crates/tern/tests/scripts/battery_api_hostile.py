# Hostile JSON API requests, one line per case: "case: status".
import http.client, json, ssl, sys, time
port, cafile, token = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False

def call(method, path, body=None, tok=token, headers=None):
    c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=60)
    h = {"Content-Type": "application/json"}
    if tok:
        h["Authorization"] = "Bearer " + tok
    h.update(headers or {})
    if isinstance(body, str):
        body = body.encode()
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
    except (ssl.SSLError, ConnectionError, http.client.HTTPException):
        return "closed", b""
    finally:
        c.close()
    return r.status, data

def case(name, status_and_body, too_large=False):
    status, body = status_and_body
    if too_large:
        # 413 before the body is read; the server may close while the
        # client still sends, which the client sees as the connection
        # ending.
        print("%s: %s" % (name, "refused" if status in (413, "closed") else status))
        return
    shape = ""
    if status not in ("closed",) and status >= 400 and body:
        try:
            err = json.loads(body)["error"]
            shape = " error" if "code" in err and "message" in err else " badshape"
        except Exception:
            shape = " notjson"
    print("%s: %s%s" % (name, status, shape))

# Nesting: serde_json's recursion limit refuses it, not the stack.
case("deep arrays", call("POST", "/api/v1/domains", "[" * 100000 + "]" * 100000), too_large=True)
case("deep objects", call("POST", "/api/v1/domains", '{"a":' * 50000 + "1" + "}" * 50000), too_large=True)
case("deep arrays within the limit", call("POST", "/api/v1/domains", "[" * 2000 + "]" * 2000))
# Huge counts and sizes (the body limit is 4 KiB in this test).
case("huge array", call("POST", "/api/v1/domains", "[" + ",".join(["1"] * 100000) + "]"), too_large=True)
case("huge string", call("POST", "/api/v1/domains", json.dumps({"name": "a" * 200000})), too_large=True)
case("huge number", call("POST", "/api/v1/domains", '{"name": "x.example", "n": 1' + "0" * 3000 + "}"))
case("wrong types", call("POST", "/api/v1/users", json.dumps({"address": 5, "password": ["x"]})))
case("duplicate keys", call("POST", "/api/v1/domains", '{"name": "a.example", "name": "b.example"}'))
case("not utf-8", call("POST", "/api/v1/domains", b'{"name": "\xff\xfe.example"}'))
case("nul in a name", call("POST", "/api/v1/domains", json.dumps({"name": "a\u0000b.example"})))
# Invisible and look-alike characters in names: refused, never stored.
case("zero-width in a domain", call("POST", "/api/v1/domains", json.dumps({"name": "exa\u200bmple.org"})))
case("cyrillic look-alike user", call("POST", "/api/v1/users", json.dumps({"address": "\u0430lice@example.org", "password": "long enough password here"})))
case("path traversal in a path", call("GET", "/api/v1/users/..%2F..%2Fetc%2Fpasswd"))
case("query limit far too large", call("GET", "/api/v1/users?limit=99999999999999999999"))
case("cursor garbage", call("GET", "/api/v1/users?cursor=%00%ff" + "A" * 3000))
case("no token", call("GET", "/api/v1/users", tok=None))
case("token garbage", call("GET", "/api/v1/users", tok="tern_" + "x" * 5000))
# The user's own endpoints (Screener, VIP, Snooze), signed in with HTTP Basic.
import base64
basic = {"Authorization": "Basic " + base64.b64encode(b"alice@example.org:correct horse battery staple").decode()}
def me(method, path, body):
    return call(method, "/api/v1/me" + path, json.dumps(body), tok=None, headers=basic)
case("screener sender huge", me("POST", "/screener", {"sender": "a" * 3000 + "@x.example", "decision": "approve"}))
case("screener sender nul", me("POST", "/screener", {"sender": "a\u0000b@x.example", "decision": "deny"}))
case("screener duplicate keys", call("POST", "/api/v1/me/screener", '{"sender": "a@x.example", "sender": "b@x.example", "decision": "deny"}', tok=None, headers=basic))
case("vip zero-width", me("POST", "/vip", {"pattern": "@exa\u200bmple.org"}))
case("vip cyrillic look-alike", me("POST", "/vip", {"pattern": "\u0430lice@example.org"}))
case("snooze uid overflow", me("POST", "/snooze", {"mailbox": "INBOX", "uid": 4294967296, "until": 9999999999}))
case("snooze in the past", me("POST", "/snooze", {"mailbox": "INBOX", "uid": 1, "until": 0}))
case("snooze traversal", me("POST", "/snooze", {"mailbox": "../../etc", "uid": 1, "until": 9999999999}))
case("snooze time zone garbage", me("PUT", "/snooze", {"enabled": True, "time_zone": "../../etc/passwd"}))
case("still served", call("GET", "/api/v1/domains"))
