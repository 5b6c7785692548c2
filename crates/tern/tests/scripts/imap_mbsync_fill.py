count = args[0]
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=60))
f = s.makefile("rb")
f.readline()
s.sendall(f'l LOGIN "{user}" "{password}"\r\n'.encode())
while not f.readline().startswith(b"l "):
    pass
n = int(count)
done = 0
for start in range(0, n, 100):
    batch = range(start, min(n, start + 100))
    for i in batch:
        msg = (f"From: Sender {i} <s{i}@example.net>\r\nTo: {user}\r\nSubject: msg {i:04}\r\n"
               f"Message-ID: <m{i}@example.net>\r\n\r\nThis is message {i}.\r\n" + "x" * (i % 200) + "\r\n").encode()
        s.sendall(f"a{i} APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    for i in batch:
        while True:
            l = f.readline()
            if not l:
                raise SystemExit("closed")
            if l.startswith(b"a"):
                assert b" OK " in l, l
                done += 1
                break
print("appended", done)
