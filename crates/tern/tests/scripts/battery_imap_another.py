M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=30)
M.login(user, password)
print("select", M.select("INBOX")[0])
M.logout()
