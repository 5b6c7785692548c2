M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
print("caps", " ".join(sorted(c for c in M.capabilities if c.startswith(("SORT", "THREAD")))))
M.login(user, password)
def msg(frm, subject, date, mid, refs=None, body="x"):
    h = "From: %s\r\nTo: alice@example.org\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n" % (frm, subject, date, mid)
    if refs:
        h += "References: %s\r\n" % " ".join("<%s>" % r for r in refs)
    return (h + "\r\n" + body + "\r\n").encode()
# Appended in this order: sequence numbers 1..6, UIDs 1..6; INTERNALDATE
# a minute apart, in that order.
for i, m in enumerate([
    msg("carol@example.net", "Lunch", "Mon, 3 Mar 2025 12:00:00 +0000", "a"),
    msg("bob@example.net", "Re: Lunch", "Mon, 3 Mar 2025 13:00:00 +0000", "b", ["a"]),
    msg("anna@example.net", "Budget", "Sun, 2 Mar 2025 09:00:00 +0000", "c", body="y" * 500),
    msg("dave@example.net", "Re: Lunch", "Mon, 3 Mar 2025 12:30:00 +0000", "d", ["a"]),
    msg("bob@example.net", "Re: Re: Lunch", "Mon, 3 Mar 2025 14:00:00 +0000", "e", ["a", "b"]),
    msg("erin@example.net", "[list] Fwd: Budget", "Tue, 4 Mar 2025 08:00:00 +0200", "f"),
], start=0):
    M.append("INBOX", None, 1700000000 + 60 * i, m)
M.select("INBOX")
print("date", M.sort("(DATE)", "UTF-8", "ALL")[1][0].decode())
print("revdate", M.sort("(REVERSE DATE)", "UTF-8", "ALL")[1][0].decode())
print("from", M.sort("(FROM DATE)", "UTF-8", "ALL")[1][0].decode())
print("subject", M.sort("(SUBJECT DATE)", "US-ASCII", "ALL")[1][0].decode())
print("size", M.sort("(REVERSE SIZE)", "UTF-8", "ALL")[1][0].decode().split(" ")[0])
print("filtered", M.sort("(DATE)", "UTF-8", "FROM", "bob")[1][0].decode())
print("uid", M.uid("SORT", "(REVERSE ARRIVAL)", "UTF-8", "ALL")[1][0].decode())
print("refs", M.thread("REFERENCES", "UTF-8", "ALL")[1][0].decode())
print("subj", M.thread("ORDEREDSUBJECT", "UTF-8", "ALL")[1][0].decode())
typ, data = M.sort("(DATE)", "KOI8-R", "ALL")
print("charset", typ, data[0].decode().split("]")[0])
try:
    M.thread("NOSUCH", "UTF-8", "ALL")
except imaplib.IMAP4.error as e:
    print("algorithm refused")
M.logout()
