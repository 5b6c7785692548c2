import ssl, sys, datetime
from imapclient import IMAPClient
mode, port, cafile, user, password = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
def out(k, v):
    print(f"{k}\t{v}")
def connect():
    if mode == "ssl":
        c = IMAPClient("127.0.0.1", port=int(port), ssl=True, ssl_context=ctx, timeout=20)
    else:
        c = IMAPClient("127.0.0.1", port=int(port), ssl=False, timeout=20)
        out("plain-caps", b" ".join(sorted(c.capabilities())).decode())
        c.starttls(ctx)
    c.login(user, password)
    return c
c = connect()
out("caps", b" ".join(sorted(c.capabilities())).decode())
out("list", sorted(name for (_, _, name) in c.list_folders()))
out("list-sent-flags", [f for (f, _, n) in c.list_folders() if n == "Sent"][0])
msg = (b"From: Dora <dora@example.net>\r\nTo: carol@example.org\r\nSubject: report\r\n"
       b"Message-ID: <r1@example.net>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
       b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
       b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nthe quarterly numbers\r\n"
       b"--b1\r\nContent-Type: application/octet-stream; name=\"n.bin\"\r\n"
       b"Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b1--\r\n")
when = datetime.datetime(2026, 11, 3, 12, 30, 0, tzinfo=datetime.timezone.utc)
out("append", c.append("INBOX", msg, flags=[b"\\Flagged"], msg_time=when).decode())
c.append("INBOX", msg.replace(b"Subject: report", b"Subject: lunch"))
c.append("INBOX", msg.replace(b"Subject: report", b"Subject: trip"))
sel = c.select_folder("INBOX")
out("select-exists", sel[b"EXISTS"])
out("select-uidvalidity", sel[b"UIDVALIDITY"] > 0)
uids = c.search("ALL")
out("search-all", uids)
first = uids[0]
res = c.fetch([first], ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY",
                      "BODYSTRUCTURE", "UID", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]",
                      "BODY.PEEK[1]<4.9>", "BODY.PEEK[2.MIME]", "BODY.PEEK[TEXT]"])
# UID FETCH answers carry the UID; imapclient keys its result by it.
out("fetch-uid", list(res) == [first] and res[first][b"SEQ"] == 1)
f = res[first]
out("fetch-flags", f[b"FLAGS"])
out("fetch-internaldate", f[b"INTERNALDATE"].astimezone(datetime.timezone.utc).isoformat())
out("fetch-size", f[b"RFC822.SIZE"] == len(msg))
env = f[b"ENVELOPE"]
out("fetch-envelope", (env.subject, env.from_[0].mailbox, env.from_[0].host, env.message_id))
out("fetch-body-multipart", f[b"BODY"].is_multipart)
bs = f[b"BODYSTRUCTURE"]
out("fetch-bodystructure", (bs[0][0][0], bs[0][0][1], bs[0][1][0], bs[0][1][1], bs[1]))
out("fetch-header-fields", f[b"BODY[HEADER.FIELDS (SUBJECT)]"])
out("fetch-partial", f[b"BODY[1]<4>"])
out("fetch-mime", f[b"BODY[2.MIME]"])
out("fetch-text-has-boundary", f[b"BODY[TEXT]"].startswith(b"--b1\r\n"))
out("peek-left-unseen", c.get_flags([first])[first])
body = c.fetch([first], ["BODY[]"])[first]
out("fetch-full", body[b"BODY[]"] == msg)
out("after-body-flags", c.get_flags([first])[first])
out("search-subject", c.search(["SUBJECT", "lunch"]) == [uids[1]])
out("search-seen", c.search("SEEN") == [first])
out("search-unseen-flagged", c.search(["UNSEEN", "FLAGGED"]))
out("store-add", c.add_flags([uids[1]], [b"\\Answered", b"$Work"])[uids[1]])
out("store-remove", c.remove_flags([uids[1]], [b"$Work"])[uids[1]])
out("store-set", c.set_flags([uids[2]], [b"\\Draft"])[uids[2]])
# Both raise on a NO; their COPYUID codes are not exposed by imapclient.
c.copy([first], "Archive")
c.move([uids[1]], "Trash")
out("after-move", c.search("ALL") == [first, uids[2]])
out("archive-status", c.folder_status("Archive", ["MESSAGES"])[b"MESSAGES"])
out("trash-status", c.folder_status("Trash", ["MESSAGES"])[b"MESSAGES"])
c.add_flags([uids[2]], [b"\\Deleted"])
text, untagged = c.expunge()
out("expunge", untagged)
out("after-expunge", c.search("ALL") == [first])
# IDLE: an APPEND from a second connection is pushed as EXISTS.
c.idle()
other = connect()
other.append("INBOX", msg.replace(b"Subject: report", b"Subject: pushed"))
other.logout()
seen = []
for _ in range(10):
    seen += c.idle_check(timeout=2)
    if any(r[1] == b"EXISTS" for r in seen):
        break
out("idle", [r for r in seen if r[1] == b"EXISTS"])
out("idle-done", c.idle_done()[0].decode())
out("logout", c.logout().decode())
