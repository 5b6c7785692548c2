import base64, smtplib
smtp_port = int(args[0])

def rfc822(n):
    return (b"Subject: nest\r\nMIME-Version: 1.0\r\n"
            + b"Content-Type: message/rfc822\r\n\r\n" * n
            + b"Subject: leaf\r\n\r\nleaf\r\n")

def multipart(n):
    m = b"Subject: parts\r\nMIME-Version: 1.0\r\n"
    for i in range(n):
        m += b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
    m += b"Content-Type: text/plain\r\n\r\nleaf\r\n"
    for i in reversed(range(n)):
        m += b"--b%d--\r\n" % i
    return m

def encoded(n):
    body = base64.encodebytes(rfc822(n)).replace(b"\n", b"\r\n")
    return (b"Subject: encoded\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n"
            + b"Content-Transfer-Encoding: base64\r\n\r\n" + body)

sent = [rfc822(10000), rfc822(20000), multipart(10000), encoded(10000)]
if args[1] == "deliver":
    for m in sent:
        s = smtplib.SMTP("127.0.0.1", smtp_port, timeout=120)
        s.sendmail("x@remote.example", [user], m)
        s.quit()

M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=120)
M.login(user, password)
M.select("INBOX")
n = len(M.search(None, "ALL")[1][0].split())
print("count", n)
for i in range(1, n + 1):
    for item in ["ENVELOPE", "BODYSTRUCTURE", "BODY", "BODY.PEEK[1.1.1]",
                 "BODY.PEEK[1.1.1.MIME]", "BINARY.PEEK[1]", "BODY.PEEK[TEXT]"]:
        typ, data = M.fetch(str(i), "(%s)" % item)
        print(i, item, typ, len(repr(data)))
    typ, data = M.fetch(str(i), "(BODY.PEEK[])")
    print(i, "exact", typ, data[0][1].endswith(sent[i - 1]))
    if i <= 2:
        levels = [10000, 20000][i - 1]
        typ, data = M.fetch(str(i), "(BODY.PEEK[1.1.1])")
        want = b"Content-Type: message/rfc822\r\n\r\n" * (levels - 3) + b"Subject: leaf\r\n\r\nleaf\r\n"
        print(i, "section", typ, data[0][1] == want)
typ, data = M.search(None, "TEXT", "leaf")
print("search", typ, data[0].decode())
typ, data = M.uid("THREAD", "REFERENCES", "UTF-8", "ALL")
print("thread", typ)
M.logout()
