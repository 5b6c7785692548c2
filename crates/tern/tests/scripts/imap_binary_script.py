M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
M.login(user, password)
print("cap", "BINARY" in M.capabilities)
msg = (b"Subject: parts\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"gr=C3=BC=C3=9Fe\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"AAECAwD/\r\n"
    b"--b\r\nContent-Type: application/x-thing\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n"
    b"--b--\r\n")
M.append("INBOX", None, None, msg)
M.select("INBOX")
typ, data = M.fetch("1", "(BINARY.PEEK[1] BINARY.SIZE[1])")
print("qp", typ, data[0][0].decode(), data[0][1].decode("utf-8"), data[1].decode())
typ, data = M.fetch("1", "(BINARY.PEEK[2])")
print("b64", typ, data[0][0].decode(), list(data[0][1]))
typ, data = M.fetch("1", "(BINARY.PEEK[2]<1.3>)")
print("partial", data[0][0].decode(), list(data[0][1]))
typ, data = M.fetch("1", "(FLAGS)")
print("unseen", data[0].decode())
typ, data = M.fetch("1", "(BINARY[3])")
print("unknown", typ, data[0].decode().split("]")[0] + "]")
typ, data = M.fetch("1", "(BINARY[1])")
typ, data = M.fetch("1", "(FLAGS)")
print("seen", data[0].decode())
M.logout()

# literal8 APPEND of a part sent as binary, NUL octets included.
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=20))
f = s.makefile("rb")
f.readline()
s.sendall(b"a LOGIN %s \"%s\"\r\n" % (user.encode(), password.encode()))
f.readline()
raw = (b"Subject: bin\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n\x00\x01\x02zero\x00end")
s.sendall(b"b APPEND INBOX ~{%d+}\r\n" % len(raw) + raw + b"\r\n")
print("append8", f.readline().decode().split(" ")[1])
s.sendall(b"c SELECT INBOX\r\n")
while not f.readline().startswith(b"c "):
    pass
s.sendall(b"d FETCH 2 (BINARY.PEEK[1])\r\n")
head = f.readline()
n = int(head[head.rindex(b"{") + 1:head.rindex(b"}")])
body = f.read(n)
print("fetch8", head.decode().strip(), body == b"\x00\x01\x02zero\x00end")
while not f.readline().startswith(b"d "):
    pass
s.sendall(b"e LOGOUT\r\n")
