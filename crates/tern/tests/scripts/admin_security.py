"""The web admin's defences, with `requests` (no browser): forms without the
CSRF token or from another origin are refused with 403 and change nothing;
a session cookie is useless after logout and after "log out everywhere";
hostile names come back escaped; a non-admin gets 403 on /admin; plain
http serves the pages to a loopback client; and guessing TOTP codes is
throttled like guessing passwords (locked, then even the right code is
refused), and so is the password asked again on a signed-in page.

argv: the https base URL, the http base URL. Accounts: root@example.org
(admin), ann@, carol@ and dave@example.org (users).
"""

import re
import sys
import time

import pyotp
import requests
import urllib3

urllib3.disable_warnings()
HTTPS, HTTP = sys.argv[1:3]
ROOT = ("root@example.org", "Root-Strong-Pass-1!")
ANN = ("ann@example.org", "Ann-Strong-Pass-2!")
CAROL = ("carol@example.org", "Carol-Strong-Pass-3!")
DAVE = ("dave@example.org", "Dave-Strong-Pass-4!")


def session():
    s = requests.Session()
    s.verify = False
    # The environment's CA bundle would override verify=False.
    s.trust_env = False
    return s


def sign_in(who, base=HTTPS):
    s = session()
    r = s.post(
        f"{base}/account/login",
        data={"user": who[0], "password": who[1]},
        allow_redirects=False,
    )
    assert r.status_code == 303, (r.status_code, r.text)
    return s, r


def csrf(s, path):
    r = s.get(f"{HTTPS}{path}", allow_redirects=False)
    assert r.status_code == 200, (path, r.status_code)
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', r.text).group(1)


def users_page(s):
    return s.get(f"{HTTPS}/admin/users").text


# --- The cookie: Secure, HttpOnly, SameSite=Strict.
root, r = sign_in(ROOT)
cookie = r.headers["set-cookie"]
for attr in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
    assert attr in cookie, cookie
assert r.headers["location"] == "/admin", r.headers
page = root.get(f"{HTTPS}/admin")
assert page.status_code == 200
csp = page.headers["content-security-policy"]
assert "default-src 'none'" in csp and "form-action 'self'" in csp, csp
print("cookie and headers ok")

# --- CSRF: no token, a wrong token, another origin, a cross-site fetch.
token = csrf(root, "/admin/users")
new = {"address": "mallory@example.org", "password": "Mallory-Pass-99!"}
for data, headers, why in [
    (new, {}, "no token"),
    ({**new, "csrf": "0" * 64}, {}, "wrong token"),
    ({**new, "csrf": token}, {"Origin": "https://evil.example"}, "other origin"),
    ({**new, "csrf": token}, {"Origin": "null"}, "null origin"),
    ({**new, "csrf": token}, {"Sec-Fetch-Site": "cross-site"}, "cross-site"),
    ({**new, "csrf": token}, {"Sec-Fetch-Site": "same-site"}, "same-site"),
]:
    r = root.post(f"{HTTPS}/admin/users", data=data, headers=headers, allow_redirects=False)
    assert r.status_code == 403, (why, r.status_code)
    assert "mallory" not in users_page(root), why
# The login form too refuses another origin.
r = session().post(
    f"{HTTPS}/account/login",
    data={"user": ROOT[0], "password": ROOT[1]},
    headers={"Origin": "https://evil.example"},
    allow_redirects=False,
)
assert r.status_code == 403, r.status_code
# And with the token, from our own origin, it works.
host = HTTPS.split("://", 1)[1]
r = root.post(
    f"{HTTPS}/admin/aliases",
    data={"csrf": token, "address": "team@example.org", "targets": "ann@example.org"},
    headers={"Origin": f"https://{host}", "Sec-Fetch-Site": "same-origin"},
)
assert r.status_code == 200 and "team@example.org added" in r.text, r.text
print("csrf ok")

# --- Hostile names come back escaped.
ann, _ = sign_in(ANN)
t = csrf(ann, "/account")
r = ann.post(
    f"{HTTPS}/account/app-passwords",
    data={"csrf": t, "name": "<script>alert(1)</script>"},
)
assert r.status_code == 200
assert "<script>alert(1)</script>" not in r.text, "escaped"
assert "&#60;script&#62;alert(1)&#60;/script&#62;" in r.text, r.text
r = root.post(
    f"{HTTPS}/admin/aliases",
    data={"csrf": token, "address": "<script>x</script>@example.org", "targets": "ann@example.org"},
)
assert "<script>x</script>" not in r.text and "&#60;script&#62;" in r.text, r.text
print("escaping ok")

# --- A user is no admin.
r = ann.get(f"{HTTPS}/admin", allow_redirects=False)
assert r.status_code == 403, r.status_code
r = ann.get(f"{HTTPS}/admin/users", allow_redirects=False)
assert r.status_code == 403, r.status_code
t = csrf(ann, "/account")
r = ann.post(f"{HTTPS}/admin/users", data={**new, "csrf": t}, allow_redirects=False)
assert r.status_code == 403, r.status_code
assert ann.get(f"{HTTPS}/account").status_code == 200
print("non-admin ok")

# --- After logout the cookie opens nothing.
old = dict(ann.cookies)
t = csrf(ann, "/account")
r = ann.post(f"{HTTPS}/account/logout", data={"csrf": t}, allow_redirects=False)
assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"], r.headers
stale = session()
stale.cookies.update(old)
r = stale.get(f"{HTTPS}/account", allow_redirects=False)
assert r.status_code == 303 and "/account/login" in r.headers["location"], r.status_code
# Log out everywhere: two browsers, one leaves for both.
one, _ = sign_in(ANN)
two, _ = sign_in(ANN)
t = csrf(one, "/account")
one.post(f"{HTTPS}/account/logout-all", data={"csrf": t})
r = two.get(f"{HTTPS}/account", allow_redirects=False)
assert r.status_code == 303, r.status_code
print("logout ok")

# --- Plain http from loopback serves the pages (an SSH tunnel).
r = session().get(f"{HTTP}/account/login", allow_redirects=False)
assert r.status_code == 200 and "Sign in" in r.text, r.status_code
r = session().get(f"{HTTP}/somewhere-else", allow_redirects=False)
assert r.status_code == 308, r.status_code
print("http on loopback ok")

# --- TOTP guessing is throttled like passwords.
carol, _ = sign_in(CAROL)
t = csrf(carol, "/account")
r = carol.post(f"{HTTPS}/account/totp/begin", data={"csrf": t})
secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', r.text).group(1)
totp = pyotp.TOTP(secret)
t = csrf(carol, "/account/totp")
r = carol.post(f"{HTTPS}/account/totp/confirm", data={"csrf": t, "code": totp.now()})
assert "recovery-codes" in r.text, r.text
guess, _ = sign_in(CAROL)
r = guess.get(f"{HTTPS}/account/login/code")
t = re.search(r'name="csrf" value="([0-9a-f]{64})"', r.text).group(1)
good = totp.at(time.time() + 30)
wrong = [c for c in ("000000", "111111", "222222", "333333", "444444", "555555", "666666") if c != good]
statuses = []
for code in wrong:
    r = guess.post(
        f"{HTTPS}/account/login/code",
        data={"csrf": t, "code": code},
        allow_redirects=False,
    )
    statuses.append(r.status_code)
assert statuses[:5] == [401] * 5, statuses
assert 429 in statuses[5:], statuses
r = guess.post(
    f"{HTTPS}/account/login/code",
    data={"csrf": t, "code": good},
    allow_redirects=False,
)
assert r.status_code == 429, ("the right code is refused while locked", r.status_code)
print("totp throttled ok")

# --- A signed-in page that asks for the password again (changing it,
# turning TOTP off) is throttled like a login: a stolen session cookie
# does not give unlimited guesses.
dave, _ = sign_in(DAVE)
statuses = []
for n in range(7):
    t = csrf(dave, "/account")
    r = dave.post(
        f"{HTTPS}/account/password",
        data={"csrf": t, "current": f"guess-{n}", "new": "Another-Pass-99!", "confirm": "Another-Pass-99!"},
        allow_redirects=False,
    )
    statuses.append(r.status_code)
    if r.status_code == 200:
        assert "current password is not right" in r.text, r.text
assert statuses[:5] == [200] * 5, statuses
assert 429 in statuses[5:], statuses
t = csrf(dave, "/account")
r = dave.post(
    f"{HTTPS}/account/totp/remove",
    data={"csrf": t, "password": DAVE[1]},
    allow_redirects=False,
)
assert r.status_code == 429, ("the right password is refused while locked", r.status_code)
r = dave.post(
    f"{HTTPS}/account/password",
    data={"csrf": t, "current": DAVE[1], "new": "Another-Pass-99!", "confirm": "Another-Pass-99!"},
    allow_redirects=False,
)
assert r.status_code == 429, r.status_code
print("password re-checks throttled ok")
print("done")
