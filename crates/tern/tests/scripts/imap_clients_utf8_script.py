import imaplib, ssl, sys
port, cafile, user, password = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
M.login(user, password)
print("enable", M.enable("UTF8=ACCEPT")[0], M.utf8_enabled)
print("create", M.create('"Größe/Übersicht"')[0])
typ, data = M.list('""', '"Gr*"')
print("list", typ, "|".join(d.decode("utf-8") for d in data))
typ, data = M.status('"Größe/Übersicht"', "(MESSAGES)")
print("status", typ, data[0].decode("utf-8"))
typ, data = M.select('"Größe/Übersicht"')
print("select", typ, data[0].decode())
print("logout", M.logout()[0])
