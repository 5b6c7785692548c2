M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
M.login(user, password)
print("caps", "QUOTA" in M.capabilities, "QUOTA=RES-STORAGE" in M.capabilities, "QUOTASET" in M.capabilities)
def text(d):
    if isinstance(d, bytes):
        return d.decode()
    if isinstance(d, list):
        return " | ".join(text(x) for x in d)
    return str(d)
def show(step, r):
    typ, data = r
    # imaplib gives NO texts twice (tagged and as untagged data): once here.
    print(step, typ, text(data[:1] if typ == "NO" else data))
show("root0", M.getquotaroot("INBOX"))
msg = b"Subject: x\r\n\r\n" + b"y" * 3000 + b"\r\n"
M.append("INBOX", None, None, msg)
M.append("Archive", None, None, msg)
show("root1", M.getquotaroot("Archive"))
show("quota", M.getquota('""'))
show("nosuch", M.getquota("other"))
show("missing", M.getquotaroot("Nope"))
show("set", M._simple_command("SETQUOTA", '""', "(STORAGE 1)"))
typ, data = M.append("INBOX", None, None, b"Subject: big\r\n\r\n" + b"z" * 9000 + b"\r\n")
print("over", typ, data[0].decode().split("]")[0] + "]")
M.select("INBOX")
M.store("1", "+FLAGS", "(\\Deleted)")
show("status", M.status("INBOX", "(DELETED DELETED-STORAGE)"))
M.logout()
