# Hostile requests to the web admin, one line per case: "case: outcome".
# argv: https port, admin address, admin password.
import http.client, re, ssl, sys, urllib.parse
port, user, password = sys.argv[1:4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def call(method, path, body=None, headers=None):
    c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=60)
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    if isinstance(body, str):
        body = body.encode()
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
    except (ssl.SSLError, ConnectionError, http.client.HTTPException):
        return "closed", {}, b""
    finally:
        c.close()


def form(**kw):
    return urllib.parse.urlencode(kw)


def case(name, outcome):
    print("%s: %s" % (name, outcome), flush=True)


def status(r, too_large=False):
    s = r[0]
    if too_large:
        return "refused" if s in (413, "closed") else s
    return s


# Sign in: the cookie and the CSRF token of a page.
s, h, _ = call("POST", "/account/login", form(user=user, password=password, next="//evil.example/x"))
cookie = re.search(r"tern_session=([0-9a-f]{64})", h.get("set-cookie", "")).group(1)
case("open redirect after login", h.get("location"))
J = {"Cookie": "tern_session=" + cookie}
page = call("GET", "/admin/users", headers=J)[2].decode()
csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)

# Before login only small bodies are read.
case("login body too large", status(call("POST", "/account/login", "user=" + "a" * 200000), too_large=True))
case("login huge name", status(call("POST", "/account/login", form(user="a" * 3000 + "@example.org", password="x"))))
case("login nul", status(call("POST", "/account/login", form(user="a\x00b@example.org", password="x"))))
case("login zero-width", status(call("POST", "/account/login", form(user="\u200b" + user, password=password))))
case("login cyrillic look-alike", status(call("POST", "/account/login", form(user="\u0440" + user[1:], password=password))))
case("login not utf-8", "4xx" if 400 <= status(call("POST", "/account/login", b"user=%ff%fe&password=x")) < 500 else "other")
case("login duplicate fields", status(call("POST", "/account/login", "user=a@example.org&user=b@example.org&password=x")))
case("code without half session", status(call("POST", "/account/login/code", form(code="123456"))))
# Cookies: garbage, huge, many, guessed.
case("cookie garbage", status(call("GET", "/admin", headers={"Cookie": "tern_session=../../etc/passwd"})))
case("cookie huge", status(call("GET", "/admin", headers={"Cookie": "tern_session=" + "f" * 12000})))
case("cookie many", status(call("GET", "/admin", headers={"Cookie": "; ".join("c%d=%d" % (i, i) for i in range(60))})))
case("cookie guessed", status(call("GET", "/admin", headers={"Cookie": "tern_session=" + "0" * 64})))
# Signed in, hostile forms and queries get a page, never a crash.
case("address huge", status(call("POST", "/admin/users", form(csrf=csrf, address="a" * 3500 + "@example.org"), J)))
case("address nul", status(call("POST", "/admin/users", form(csrf=csrf, address="a\x00@example.org"), J)))
case("domain zero-width", status(call("POST", "/admin/domains", form(csrf=csrf, name="exa\u200bmple.net"), J)))
case("quota absurd", status(call("POST", "/admin/users", form(csrf=csrf, address="q@example.org", quota_mib="9" * 40), J)))
case("audit kind garbage", status(call("GET", "/admin/audit?kind=" + "x" * 3000, headers=J)))
case("audit dates absurd", status(call("GET", "/admin/audit?since=99999-99-99&until=%00", headers=J)))
case("queue id overflow", "4xx" if 400 <= status(call("GET", "/admin/queue/view?id=99999999999999999999", headers=J)) < 500 else "other")
case("user traversal", status(call("GET", "/admin/users/view?address=..%2F..%2Fetc%2Fpasswd", headers=J)))
case("path traversal", status(call("GET", "/admin/../../etc/passwd", headers=J)))
deep = "require \"fileinto\";\n" + "if true {\n" * 3000 + "}\n" * 3000
r = call("POST", "/account/sieve", form(csrf=csrf, name="deep", script=deep), J)
case("sieve deep nesting", "%s %s" % (r[0], "line shown" if b"class=\"error\"" in r[2] and b"Line " in r[2] else "no error"))
case("sieve too large", status(call("POST", "/account/sieve", form(csrf=csrf, name="big", script="#" * 300000), J), too_large=True))
case("dns check of a garbage name", status(call("GET", "/admin/domains/view?name=" + "%ff" * 300, headers=J)))
case("still served", status(call("GET", "/admin", headers=J)))
