# An IMAP client at work while the backup runs (args: the imaps port, the
# CA file, user, password, the UIDs to flag and the UIDs to expunge, each
# comma-separated): in UID order, one command at a time, it sets \Flagged,
# or sets \Deleted and expunges that UID alone (UID EXPUNGE, RFC 4315 2.1).
# After every STORE it prints the state it left, "UID MODSEQ FLAGS" as
# backup_view.py writes them; "gone UID" after an expunge. The test reads
# how far it got as it goes.
import imaplib, re, ssl, sys
port, cafile, user, password = sys.argv[1:5]
flag = [int(u) for u in sys.argv[5].split(",")]
gone = [int(u) for u in sys.argv[6].split(",")]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=60)
m.login(user, password)
m.enable("CONDSTORE")
assert m.select("INBOX")[0] == "OK"

def store(uid, what):
    typ, data = m.uid("STORE", str(uid), "+FLAGS", "(%s)" % what)
    assert typ == "OK", data
    # With CONDSTORE on, the FETCH a STORE causes carries MODSEQ (RFC 7162 3.1.4).
    for item in data:
        head = item.decode() if isinstance(item, bytes) else ""
        if re.search(r"UID %d\b" % uid, head):
            flags = " ".join(sorted(f for f in re.search(r"FLAGS \(([^)]*)\)", head).group(1).split() if f != "\\Recent"))
            modseq = re.search(r"MODSEQ \((\d+)\)", head).group(1)
            print(uid, modseq, flags or "-", flush=True)
            return
    raise SystemExit("no FETCH for UID %d: %r" % (uid, data))

for uid in sorted(flag + gone):
    if uid in gone:
        store(uid, "\\Deleted")
        typ, data = m.uid("EXPUNGE", str(uid))
        assert typ == "OK", data
        print("gone", uid, flush=True)
    else:
        store(uid, "\\Flagged")
m.logout()
