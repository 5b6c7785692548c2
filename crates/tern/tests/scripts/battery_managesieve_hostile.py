import base64, socket, ssl, sys, threading
port, cafile, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False

def until_ok(f):
    """Lines up to the OK/NO/BYE that ends a response; that line."""
    while True:
        l = f.readline()
        if not l or l[:2] in (b"OK", b"NO") or l[:3] == b"BYE":
            return l

def session(tls=True, login=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    until_ok(f)
    if tls:
        s.sendall(b"STARTTLS\r\n")
        until_ok(f)
        s = ctx.wrap_socket(s)
        f = s.makefile("rb")
        until_ok(f)
    if login:
        ir = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        s.sendall(b'AUTHENTICATE "PLAIN" "' + ir + b'"\r\n')
        assert until_ok(f).startswith(b"OK"), "login"
    return s, f

def word(l):
    return (l or b"closed").split(b" ")[0].decode().strip()

# A line that never ends, before login: answered or closed, never kept.
s, f = session(tls=False)
try:
    s.sendall(b"NOOP " + b"a" * (1 << 20))
    s.sendall(b"\r\n")
except OSError:
    pass
print("long", word(until_ok(f)))
# A huge literal before login ends the connection at once.
s, f = session(tls=False)
s.sendall(b'PUTSCRIPT "x" {1073741824+}\r\n')
print("literal before login", word(until_ok(f)))
# Connections each holding half a line, before login (as many as
# [limits.managesieve] lets one address open, 20, with room for the next).
held = []
for _ in range(15):
    s, f = session(tls=False)
    s.sendall(b"NOOP \"" + b"b" * 1500)
    held.append((s, f))
print("held", len(held))
# Pipelined bad commands: answered, then closed after too many.
s, f = session(tls=False)
try:
    s.sendall(b"FROB\r\n" * 10000)
except OSError:
    pass
answers, last = 0, b""
while True:
    try:
        l = f.readline()
    except OSError:
        break
    if not l:
        break
    answers += 1
    last = l
# The close may come while the client still writes: the unread input
# resets the connection, and what was answered may be lost with it.
print("pipelined", "bounded" if answers <= 100 else answers, word(last) if last else "BYE")
for s, f in held:
    s.close()
# After login: a 100 MiB script is skipped as it arrives, not kept.
s, f = session(login=True)
size = 100 << 20
s.sendall(b'PUTSCRIPT "huge" {%d+}\r\n' % size)
chunk = b"#" * (1 << 20)
for _ in range(size >> 20):
    s.sendall(chunk)
s.sendall(b"\r\n")
l = until_ok(f)
print("huge", l.split(b'"')[0].decode().strip())
s.sendall(b"LISTSCRIPTS\r\n")
print("after huge", word(until_ok(f)))
s.close()
# Four sessions put scripts near the limit at once (a user may have five
# from one address).
def put(i, out):
    s, f = session(login=True)
    body = b"keep;\r\n" + b"#" * (60 * 1024) + b"\r\n"
    s.sendall(b'PUTSCRIPT "s%d" {%d+}\r\n' % (i, len(body)) + body + b"\r\n")
    out[i] = word(until_ok(f))
    s.sendall(b"LOGOUT\r\n")
out = {}
ts = [threading.Thread(target=put, args=(i, out)) for i in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("puts", sorted(set(out.values())), len(out))
