from imapclient import IMAPClient
def out(k, v):
    print(f"{k}\t{v}")
c = IMAPClient("127.0.0.1", port=int(port), ssl=True, ssl_context=ctx, timeout=20)
c.login(user, password)
out("enable", c.enable("CONDSTORE"))
for s in (b"one", b"two", b"three"):
    c.append("INBOX", b"Subject: " + s + b"\r\n\r\nbody\r\n")
sel = c.select_folder("INBOX")
hms = sel[b"HIGHESTMODSEQ"]
out("hms", hms > 0)
c.add_flags([2], [b"\\Flagged"])
changed = c.fetch([1, 2, 3], ["FLAGS"], modifiers=["CHANGEDSINCE %d" % hms])
out("changed", sorted((uid, d[b"MODSEQ"][0] > hms, d[b"FLAGS"]) for uid, d in changed.items()))
res = c.search(["MODSEQ", str(hms + 1)])
out("search", (list(res), res.modseq > hms))
out("logout", c.logout())
