import hashlib, poplib, ssl, sys
port, cafile, user, password = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
p = poplib.POP3_SSL("127.0.0.1", int(port), context=ctx, timeout=120)
p.user(user)
p.pass_(password)
resp, lines, octets = p.retr(1)
data = (b"\r\n".join(lines) + b"\r\n").split(b"\r\n\r\n", 1)[1]
top = p.top(1, 2)[1]
p.quit()
header = lines.index(b"") + 1
print(hashlib.sha256(data).hexdigest(), len(data), len(top) - header)
