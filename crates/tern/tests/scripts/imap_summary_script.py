step = args[0]
M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
M.login(user, password)
if step == "append":
    msg = b"From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: original\r\n\r\nfirst body\r\n"
    M.append("INBOX", None, None, msg)
M.select("INBOX")
typ, data = M.fetch("1", "(ENVELOPE BODYSTRUCTURE)")
print("items", data[0].decode())
typ, data = M.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("header", data[0][1].decode().strip())
print("search", M.search(None, "SUBJECT", "original")[1][0].decode() or "-")
typ, data = M.fetch("1", "(BODY.PEEK[])")
print("body", data[0][1].decode().replace("\r\n", "|"))
M.logout()
