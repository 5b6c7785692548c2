# The JSON API driven by Python's http.client, as a script or a dashboard
# would: argv = https port, imaps port, CA file, admin token, a token scoped
# to other.example, a revoked token. Asserts as it goes; prints "ok".
import base64, http.client, imaplib, json, ssl, sys

port, imaps, cafile, admin, scoped, revoked = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False


def call(method, path, token=None, body=None, raw=None, basic=None):
    c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=60)
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    data = None
    if body is not None:
        data = json.dumps(body).encode()
    if raw is not None:
        data = raw
    if data is not None:
        headers["Content-Type"] = "application/json"
    c.request(method, "/api/v1" + path, body=data, headers=headers)
    r = c.getresponse()
    text = r.read()
    c.close()
    parsed = json.loads(text) if text else None
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), parsed


def error(status, want_status, code, field=None):
    s, h, b = status
    assert s == want_status, (s, want_status, b)
    assert b["error"]["code"] == code, b
    if field is not None:
        assert b["error"].get("field") == field, b
    return h


def imap_login(user, password):
    m = imaplib.IMAP4_SSL("127.0.0.1", int(imaps), ssl_context=ctx)
    try:
        m.login(user, password)
        m.logout()
        return True
    except imaplib.IMAP4.error:
        return False


PASSWORD = "correct horse battery staple"

# No token, a bad one, a revoked one: 401 with a challenge.
h = error(call("GET", "/domains"), 401, "unauthorized")
assert h["www-authenticate"].startswith("Bearer"), h
error(call("GET", "/domains", token="tern_" + "0" * 64), 401, "unauthorized")
error(call("GET", "/domains", token=revoked), 401, "unauthorized")

# A domain and a user made through the API; the user logs in over IMAP.
s, h, b = call("POST", "/domains", admin, {"name": "Example.ORG", "dkim": False})
assert s == 201 and b["name"] == "example.org", (s, b)
assert h["cache-control"] == "no-store" and h["x-content-type-options"] == "nosniff", h
error(call("POST", "/domains", admin, {"name": "example.org"}), 409, "conflict")
s, _, b = call("POST", "/users", admin, {"address": "ann@example.org", "password": PASSWORD, "quota": 1048576})
assert s == 201 and b["user"]["address"] == "ann@example.org" and "password" not in b, (s, b)
assert imap_login("ann@example.org", PASSWORD)

# Bad JSON is a 400 naming the field; a weak password a 422; a duplicate 409.
error(call("POST", "/users", admin, {"address": 5}), 400, "bad_request", "address")
error(call("POST", "/users", admin, {"password": "x"}), 400, "bad_request", "address")
error(call("POST", "/users", admin, raw=b'{"address": '), 400, "bad_request")
error(call("POST", "/users", admin, {"address": "bob@example.org", "password": "1234"}), 422, "invalid", "password")
error(call("POST", "/users", admin, {"address": "ann@example.org", "password": PASSWORD}), 409, "conflict")

# A user made without a password gets one, shown once, that works.
s, _, b = call("POST", "/users", admin, {"address": "cy@example.org"})
assert s == 201 and len(b["password"]) >= 16, b
assert imap_login("cy@example.org", b["password"])

# Pages: two users, one per page, the cursor leading to the second.
s, _, p1 = call("GET", "/users?domain=example.org&limit=1", admin)
assert s == 200 and len(p1["items"]) == 1 and "next_cursor" in p1, p1
s, _, p2 = call("GET", "/users?domain=example.org&limit=1&cursor=" + p1["next_cursor"], admin)
assert [u["address"] for u in p1["items"] + p2["items"]] == ["ann@example.org", "cy@example.org"], (p1, p2)
assert "next_cursor" not in p2, p2
error(call("GET", "/users?limit=0", admin), 422, "invalid", "limit")

# What the CLI made (dan@other.example) the API sees.
s, _, b = call("GET", "/users?domain=other.example", admin)
assert [u["address"] for u in b["items"]] == ["dan@other.example"], b

# A domain-scoped token: its domain only.
s, _, b = call("GET", "/domains", scoped)
assert [d["name"] for d in b["items"]] == ["other.example"], b
error(call("GET", "/users/ann@example.org", scoped), 403, "forbidden")
error(call("POST", "/users", scoped, {"address": "eve@example.org", "password": PASSWORD}), 403, "forbidden")
error(call("GET", "/queue", scoped), 403, "forbidden")
s, _, b = call("POST", "/users", scoped, {"address": "eve@other.example", "password": PASSWORD})
assert s == 201, b

# Quota, aliases, DNS records, queue, audit.
s, _, b = call("PUT", "/users/ann@example.org/quota", admin, {"quota": 2097152})
assert s == 200 and b["quota"] == 2097152, b
s, _, b = call("POST", "/aliases", admin, {"address": "team@example.org", "targets": ["ann@example.org"]})
assert s == 201, b
s, _, records = call("GET", "/domains/example.org/dns", admin)
assert {"name": "example.org.", "type": "MX", "value": "10 mx.test.example."} in records, records
# A disabled user logs in nowhere, mail still arrives; enabled again, it does.
s, _, b = call("POST", "/users/cy@example.org/disable", admin)
assert s == 200 and b["disabled"] is True, b
s, _, b = call("POST", "/users", admin, {"address": "dee@example.org", "password": PASSWORD})
assert s == 201 and b["user"]["disabled"] is False, b
s, _, b = call("POST", "/users/dee@example.org/disable", admin)
assert not imap_login("dee@example.org", PASSWORD), "a disabled account cannot log in"
s, _, b = call("POST", "/users/dee@example.org/enable", admin)
assert s == 200 and b["disabled"] is False and imap_login("dee@example.org", PASSWORD), b
error(call("POST", "/users/dee@other.example/disable", scoped), 404, "not_found")
error(call("POST", "/users/dee@example.org/disable", scoped), 403, "forbidden")

# DKIM: a key made through the API, listed in a page, published in dns.
s, _, r = call("POST", "/dkim", admin, {"domain": "example.org", "selector": "api1"})
assert s == 201 and r["name"] == "api1._domainkey.example.org." and "k=ed25519" in r["value"], r
error(call("POST", "/dkim", admin, {"domain": "example.org", "algorithm": "dsa"}), 422, "invalid", "algorithm")
s, _, b = call("GET", "/dkim?domain=example.org&limit=10", admin)
assert [k["selector"] for k in b["items"]] == ["api1"] and b["items"][0]["record"] == r, b

# MTA-STS: published, refused when wrong, withdrawn.
s, _, b = call("PUT", "/domains/example.org/mta-sts", admin, {"mode": "enforce", "max_age": 86400})
assert s == 200 and b["mode"] == "enforce" and b["mx"] == ["mx.test.example"], b
assert b["record"]["name"] == "_mta-sts.example.org." and b["record"]["value"].startswith('"v=STSv1; id='), b
error(call("PUT", "/domains/example.org/mta-sts", admin, {"mode": "bogus"}), 422, "invalid", "mode")
error(call("PUT", "/domains/example.org/mta-sts", admin, {"mode": "testing", "max_age": 0}), 422, "invalid", "max_age")
s, _, records = call("GET", "/domains/example.org/dns", admin)
assert any(r["name"] == "_mta-sts.example.org." for r in records), records
s, _, _ = call("DELETE", "/domains/example.org/mta-sts", admin)
assert s == 204
error(call("GET", "/domains/example.org/mta-sts", admin), 404, "not_found")

# A body over max_body_kib (4 here): 413, in the API's words.
error(call("POST", "/users", admin, raw=b"[" + b"0," * 3000 + b"0]"), 413, "too_large")

s, _, b = call("GET", "/queue", admin)
assert s == 200 and b["items"] == [], b
s, _, b = call("GET", "/audit?limit=50", admin)
assert s == 200 and isinstance(b, list), b
error(call("GET", "/no/such/thing", admin), 404, "not_found")

# /me with the user's own password: who am I, app passwords.
error(call("GET", "/me"), 401, "unauthorized")
error(call("GET", "/me", basic="ann@example.org:wrong"), 401, "unauthorized")
s, _, b = call("GET", "/me", basic="ann@example.org:" + PASSWORD)
assert s == 200 and b["address"] == "ann@example.org", b
s, _, b = call("POST", "/me/app-passwords", basic="ann@example.org:" + PASSWORD, body={"name": "phone"})
assert s == 201 and b["app_password"]["name"] == "phone", (s, b)
app = b["password"]
assert imap_login("ann@example.org", app), "the app password logs in"
# An app password is for mail clients, not for managing the account.
error(call("GET", "/me", basic="ann@example.org:" + app), 401, "unauthorized")
s, _, b = call("GET", "/me/app-passwords", basic="ann@example.org:" + PASSWORD)
assert [a["name"] for a in b] == ["phone"] and "last_used" in b[0], b
s, _, _ = call("DELETE", "/me/app-passwords/phone", basic="ann@example.org:" + PASSWORD)
assert s == 204
assert not imap_login("ann@example.org", app), "a revoked app password fails"
assert imap_login("ann@example.org", PASSWORD), "the password still works"
error(call("PUT", "/me/password", basic="ann@example.org:" + PASSWORD, body={"password": "1234"}), 422, "invalid", "password")
NEW = "another long passphrase here"
s, _, _ = call("PUT", "/me/password", basic="ann@example.org:" + PASSWORD, body={"password": NEW})
assert s == 204
assert imap_login("ann@example.org", NEW) and not imap_login("ann@example.org", PASSWORD)

# The OpenAPI document is valid OpenAPI 3.1 and lists the routes used.
from openapi_spec_validator import validate
s, h, spec = call("GET", "/openapi.json")
assert s == 200 and h["content-type"] == "application/json", h
assert spec["openapi"].startswith("3.1"), spec["openapi"]
validate(spec)
for path in ["/domains", "/users", "/users/{address}/quota", "/me/app-passwords", "/queue/{id}/retry", "/audit"]:
    assert path in spec["paths"], path
print("ok")
