import socket, ssl, sys
port, cafile = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
def session():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20))
    f = s.makefile("rb")
    f.readline()
    return s, f
# A line that never ends: the server answers or closes, never buffers it all.
s, f = session()
try:
    s.sendall(b"USER " + b"a" * (1 << 20))
    s.sendall(b"\r\n")
except OSError:
    pass
print("long", (f.readline() or b"closed").split(b" ")[0].decode())
# Invisible characters and absurd numbers.
s, f = session()
for c in [b"USER u0@example.test\xe2\x80\x8b", b"PASS pw", b"RETR 99999999999999999999999", b"TOP 1 -1", b"LIST 0"]:
    s.sendall(c + b"\r\n")
    print("cmd", f.readline().split(b" ")[0].decode())
# Ten thousand pipelined NOOPs before login, in one write: NOOP is not a
# command of the AUTHORIZATION state, so each is an error, and the server
# may answer some and then close (too many errors) while the write is
# still going: both are clean ends.
s, f = session()
try:
    s.sendall(b"NOOP\r\n" * 10000)
except OSError:
    pass
answers, last = 0, b""
while answers < 10000:
    try:
        l = f.readline()
    except OSError:
        break
    if not l:
        break
    answers += 1
    last = l
print("pipelined", "bounded" if answers <= 10000 else answers)
print("last", last.split(b" ")[0].decode() or "-")
