# Every message of every mailbox as an IMAP client sees it: one line of
# mailbox, sorted flags (without \Recent), Subject, and the values of the
# X-Sieve-Note fields (or "-"), the lines sorted.
import email, re
m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
m.login(user, password)
typ, boxes = m.list()
assert typ == "OK", boxes
out = []
for b in boxes:
    line = b.decode()
    if "\\Noselect" in line or "\\NonExistent" in line:
        continue
    name = line.rsplit(' "/" ', 1)[1].strip('"')
    typ, exists = m.select('"%s"' % name, readonly=True)
    assert typ == "OK", name
    if int(exists[0]) == 0:
        continue
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER])")
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        flags = re.search(r"FLAGS \(([^)]*)\)", head.decode()).group(1).split()
        flags = " ".join(sorted(f for f in flags if f != "\\Recent")) or "-"
        msg = email.message_from_bytes(body)
        notes = ",".join(msg.get_all("X-Sieve-Note") or []) or "-"
        out.append("%s|%s|%s|%s" % (name, flags, msg["Subject"], notes))
m.logout()
for line in sorted(out):
    print(line)
