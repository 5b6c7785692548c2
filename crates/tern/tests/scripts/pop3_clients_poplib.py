import base64, poplib, ssl, sys
mode, port, cafile, user, password = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False  # the certificate names a host; the test dials an IP
def err(e):
    return e.args[0].decode("latin-1")
def connect(mode, port):
    if mode == "ssl":
        return poplib.POP3_SSL("127.0.0.1", int(port), context=ctx, timeout=20)
    p = poplib.POP3("127.0.0.1", int(port), timeout=20)
    caps = p.capa()
    print("plain-capa", " ".join(sorted(caps)))
    try:
        p.user(user)
        print("plain-user accepted")
    except poplib.error_proto as e:
        print("plain-user", err(e))
    p.stls(context=ctx)
    return p
p = connect(mode, port)
print("capa", " ".join(sorted(p.capa())))
for a in sys.argv[6:]:
    try:
        if a == "login":
            p.user(user)
            r = p.pass_(password).decode()
        elif a.startswith("second:"):
            _, m, po = a.split(":")
            q = connect(m, po)
            q.user(user)
            try:
                r = q.pass_(password).decode()
            except poplib.error_proto as e:
                r = err(e)
            q.quit()
        elif a == "stat":
            r = "%d %d" % p.stat()
        elif a == "uidl":
            r = ",".join(l.decode() for l in p.uidl()[1])
        elif a.startswith("retr"):
            r = base64.b64encode(b"\r\n".join(p.retr(int(a[4:]))[1]) + b"\r\n").decode()
        elif a.startswith("dele"):
            r = p.dele(int(a[4:])).decode()
        elif a == "rset":
            r = p.rset().decode()
        elif a == "quit":
            r = p.quit().decode()
    except poplib.error_proto as e:
        r = err(e)
    print(a, r)
