import re
M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=60)
M.login(user, password)
typ, data = M.select("INBOX")
typ, data = M.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
for item in data:
    if not isinstance(item, tuple):
        continue
    flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode()
    subject = item[1].decode().strip().removeprefix("Subject: ")
    print(f"{subject}\t{flags}")
M.logout()
