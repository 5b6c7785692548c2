# The INBOX as an IMAP client sees it: UIDVALIDITY, then per message its
# UID, MODSEQ, flags (without \Recent) and the SHA-256 of its bytes. With args[0] == "mark",
# first flag messages 1:10, and delete and expunge the last one.
import hashlib, re
m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
m.login(user, password)
m.enable("CONDSTORE")
typ, _ = m.select("INBOX")
assert typ == "OK"
uidvalidity = m.response("UIDVALIDITY")[1][0].decode()
if args and args[0] == "mark":
    assert m.store("1:10", "+FLAGS", "(\\Flagged $Work)")[0] == "OK"
    typ, data = m.search(None, "ALL")
    last = data[0].split()[-1].decode()
    assert m.store(last, "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"
print("UIDVALIDITY", uidvalidity)
typ, data = m.uid("FETCH", "1:*", "(FLAGS MODSEQ BODY.PEEK[])")
assert typ == "OK", data
for item in data:
    if not isinstance(item, tuple):
        continue
    head, body = item
    head = head.decode()
    uid = re.search(r"UID (\d+)", head).group(1)
    # \Recent belongs to a session (RFC 3501 2.3.2), not to the message.
    flags = " ".join(sorted(f for f in re.search(r"FLAGS \(([^)]*)\)", head).group(1).split() if f != "\\Recent"))
    modseq = re.search(r"MODSEQ \((\d+)\)", head).group(1)
    print(uid, modseq, flags or "-", hashlib.sha256(body).hexdigest())
m.logout()
