import imaplib, ssl, sys
mode, port, cafile, user, password = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
def connect():
    if mode == "ssl":
        return imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    print("plain-caps", " ".join(sorted(m.capabilities)))
    try:
        m.login(user, password)
        print("plain-login accepted")
    except imaplib.IMAP4.error as e:
        print("plain-login", e)
    m.starttls(ssl_context=ctx)
    return m
M = connect()
print("caps", " ".join(sorted(M.capabilities)))
print("login", M.login(user, password)[0])
typ, data = M.list()
print("list", typ, b"|".join(data).decode())
msg = b"From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: greetings\r\n\r\nhello there\r\n"
print("append", M.append("INBOX", "(\\Flagged)", None, msg)[0])
print("append2", M.append("INBOX", None, None, msg.replace(b"greetings", b"other"))[0])
typ, data = M.select("INBOX")
print("select", typ, data[0].decode())
typ, data = M.fetch("1", "(FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[])")
print("fetch", typ, data[0][0].decode(), data[0][1] == msg)
typ, data = M.search(None, "SUBJECT", "other")
print("search", typ, data[0].decode())
typ, data = M.uid("SEARCH", None, "FLAGGED")
print("uidsearch", typ, data[0].decode())
typ, data = M.store("2", "+FLAGS", "(\\Seen)")
print("store", typ, data[0].decode())
print("copy", M.copy("1", "Archive")[0])
typ, data = M._simple_command("MOVE", "2", "Trash")
print("move", typ)
print("status", M.status("Trash", "(MESSAGES)")[1][0].decode())
M.store("1", "+FLAGS", "(\\Deleted)")
typ, data = M.expunge()
print("expunge", typ, data)
# IDLE: another session's APPEND shows up as EXISTS.
tag = M._new_tag()
M.send(tag + b" IDLE\r\n")
print("idle", M.readline().decode().strip())
N = connect()
N.login(user, password)
N.append("INBOX", None, None, msg)
N.logout()
print("pushed", M.readline().decode().strip())
M.send(b"DONE\r\n")
while True:
    l = M.readline()
    if l.startswith(tag):
        print("done", l.decode().strip())
        break
print("logout", M.logout()[0])
