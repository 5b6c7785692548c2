# Every message of every mailbox as an IMAP client sees it: one line of
# mailbox, sorted flags (without \Recent) and the SHA-256 of its bytes,
# the lines sorted.
import hashlib, re
m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
m.login(user, password)
typ, boxes = m.list()
assert typ == "OK", boxes
out = []
for b in boxes:
    name = b.decode().rsplit(' "/" ', 1)[1].strip('"')
    typ, exists = m.select('"%s"' % name, readonly=True)
    assert typ == "OK", name
    if int(exists[0]) == 0:
        continue
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[])")
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        flags = re.search(r"FLAGS \(([^)]*)\)", head.decode()).group(1).split()
        flags = " ".join(sorted(f for f in flags if f != "\\Recent")) or "-"
        out.append("%s|%s|%s" % (name, flags, hashlib.sha256(body).hexdigest()))
m.logout()
for line in sorted(out):
    print(line)
