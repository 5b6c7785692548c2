import socket, threading
def conn():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=60))
    s.recv(4096)
    return s
def answer(s):
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()

# A synchronising literal of 64 MiB before login: refused, no continuation.
s = conn()
s.sendall(b"a ID {67108864}\r\n")
print("sync", answer(s))
s.sendall(b"b NOOP\r\n")
print("after", answer(s))
s.close()

# Eight connections push a 60 MB non-synchronising literal before login.
# Each thread keeps its result; they are printed after all have joined, so
# lines from two threads never interleave.
results = {}
def flood(i):
    s = conn()
    sent = 0
    try:
        s.sendall(b"a ID {60000000+}\r\n")
        chunk = b"x" * 65536
        while sent < 60000000:
            s.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    try:
        results[i] = (answer(s)[:40].replace(" ", "_"), sent < 60000000)
    except OSError:
        results[i] = ("closed", sent < 60000000)
threads = [threading.Thread(target=flood, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join(300)
for i in sorted(results):
    print("flood", i, results[i][0], results[i][1])

# A long line before login.
s = conn()
s.sendall(b"c LOGIN " + b"u" * 100000 + b" pw\r\n")
print("line", answer(s))
s.close()
