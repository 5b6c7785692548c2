"""A POP3 client session with Python's poplib, driven by the Rust tests.

usage: pop.py MODE PORT CAFILE USER PASSWORD ACTION...
MODE is "stls" (port 110 style) or "ssl" (port 995 style). Prints one JSON
object: what each action returned, so the test can compare bytes.
"""

import base64
import json
import poplib
import ssl
import sys


def b64(lines):
    return base64.b64encode(b"\r\n".join(lines) + b"\r\n").decode()


def err(e):
    return e.args[0].decode("latin-1") if e.args and isinstance(e.args[0], bytes) else str(e)


def main():
    mode, port, cafile, user, password = sys.argv[1:6]
    actions = sys.argv[6:]
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # the certificate names a host, the test dials an IP
    out = {"actions": []}
    if mode == "ssl":
        p = poplib.POP3_SSL("127.0.0.1", int(port), context=ctx, timeout=20)
    else:
        p = poplib.POP3("127.0.0.1", int(port), timeout=20)
        out["capa_plain"] = sorted(p.capa().keys())
        try:
            p.user(user)
            out["user_plain"] = "accepted"
        except poplib.error_proto as e:
            out["user_plain"] = err(e)
        p.stls(context=ctx)
    out["capa"] = sorted(p.capa().keys())
    for a in actions:
        try:
            if a == "login":
                r = p.user(user).decode()
                r = p.pass_(password).decode()
            elif a.startswith("login2"):
                # A second, concurrent session on the same maildrop: on this
                # listener, or ("login2ssl:PORT") on an implicit TLS one.
                if a.startswith("login2ssl:"):
                    q = poplib.POP3_SSL("127.0.0.1", int(a.split(":")[1]), context=ctx, timeout=20)
                elif mode == "ssl":
                    q = poplib.POP3_SSL("127.0.0.1", int(port), context=ctx, timeout=20)
                else:
                    q = poplib.POP3("127.0.0.1", int(port), timeout=20)
                    q.stls(context=ctx)
                q.user(user)
                try:
                    r = q.pass_(password).decode()
                except poplib.error_proto as e:
                    r = err(e)
                q.quit()
            elif a == "stat":
                r = list(p.stat())
            elif a == "list":
                r = [l.decode() for l in p.list()[1]]
            elif a == "uidl":
                r = [l.decode() for l in p.uidl()[1]]
            elif a.startswith("retr"):
                r = b64(p.retr(int(a[4:]))[1])
            elif a.startswith("top"):
                r = b64(p.top(int(a[3:]), 0)[1])
            elif a.startswith("dele"):
                r = p.dele(int(a[4:])).decode()
            elif a == "rset":
                r = p.rset().decode()
            elif a == "quit":
                r = p.quit().decode()
            else:
                r = "unknown action " + a
        except poplib.error_proto as e:
            r = err(e)
        out["actions"].append([a, r])
    print(json.dumps(out))


main()
