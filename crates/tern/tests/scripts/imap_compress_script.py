import smtplib, socket, ssl, sys, zlib
port, smtp_port, cafile, user, password = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=20))
buf = b""
def raw_line():
    global buf
    while b"\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise SystemExit("closed")
        buf += d
    l, buf = buf.split(b"\r\n", 1)
    return l.decode()
raw_line()  # greeting
s.sendall(b"z COMPRESS DEFLATE\r\n")
print("early", raw_line().split(" ")[1])
s.sendall(b"a LOGIN %s \"%s\"\r\n" % (user.encode(), password.encode()))
l = raw_line()
print("login", l.split(" ")[1], "COMPRESS=DEFLATE" in l)
s.sendall(b"b COMPRESS DEFLATE\r\n")
print("compress", raw_line())
# From here on both directions are raw DEFLATE.
c = zlib.compressobj(6, zlib.DEFLATED, -15)
d = zlib.decompressobj(-15)
plain = buf and d.decompress(buf) or b""
buf = b""
def send(cmd):
    s.sendall(c.compress(cmd) + c.flush(zlib.Z_SYNC_FLUSH))
def line():
    global plain
    while b"\r\n" not in plain:
        data = s.recv(65536)
        if not data:
            raise SystemExit("closed")
        plain += d.decompress(data)
    l, plain = plain.split(b"\r\n", 1)
    return l
def until(tag):
    out = []
    while True:
        l = line()
        out.append(l)
        if l.startswith(tag + b" "):
            return out
def literal_aware_until(tag):
    # FETCH BODY[] brings a literal: read its bytes exactly.
    global plain
    out = []
    while True:
        l = line()
        out.append(l)
        if l.endswith(b"}") and b"{" in l:
            n = int(l[l.rindex(b"{") + 1:-1])
            while len(plain) < n:
                plain += d.decompress(s.recv(65536))
            out.append(plain[:n]); plain = plain[n:]
        if l.startswith(tag + b" "):
            return out
send(b"c COMPRESS DEFLATE\r\n")
print("again", until(b"c")[-1].decode())
send(b"e SELECT INBOX\r\n")
print("select", until(b"e")[-1].decode().split(" ")[1])
body = b"From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: big\r\n\r\n" + b"compressible line of text\r\n" * 4000
send(b"f APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
print("append", until(b"f")[-1].decode().split(" ")[1])
send(b"g FETCH 1 BODY.PEEK[]\r\n")
out = literal_aware_until(b"g")
print("fetch", out[-1].decode().split(" ")[1], body in out)
# IDLE, then a message arrives over SMTP: the EXISTS must arrive
# decodable without any further byte from either side.
send(b"h IDLE\r\n")
print("idle", line().decode())
smtp = smtplib.SMTP("127.0.0.1", int(smtp_port), timeout=20)
smtp.sendmail("bob@example.net", [user], b"From: bob@example.net\r\nTo: alice@example.org\r\nSubject: pushed\r\n\r\nhi\r\n")
smtp.quit()
print("pushed", line().decode())
send(b"DONE\r\n")
print("done", until(b"h")[-1].decode().split(" ")[1])
send(b"i LOGOUT\r\n")
print("logout", until(b"i")[0].decode().split(" ")[1])
