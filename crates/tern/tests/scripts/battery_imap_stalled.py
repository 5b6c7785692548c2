import socket, time
stalled = []
for i in range(int(args[0])):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=30))
    s.recv(4096)
    s.sendall(b"s%d LOGIN %s" % (i, user.encode()))
    stalled.append(s)
raw = socket.create_connection(("127.0.0.1", int(port)), timeout=30)
raw.sendall(b"\x16\x03\x01")
O = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=30)
print("other", O.login(user, password)[0], O.select("INBOX")[0])
O.logout()
for s in stalled:
    s.close()
raw.close()
