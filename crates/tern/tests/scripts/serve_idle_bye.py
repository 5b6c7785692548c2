import imaplib, os, signal, socket, ssl, sys, time
port, cafile, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
def login():
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=30)
    m.login("alice@example.org", "pw")
    m.select("INBOX")
    return m
idler, waiter = login(), login()
tag = idler._new_tag().decode()
idler.send(("%s IDLE\r\n" % tag).encode())
assert idler.readline().startswith(b"+"), "IDLE accepted"
os.kill(pid, signal.SIGTERM)
start = time.monotonic()
print("idle", idler.readline().decode().strip())
print("waiting", waiter.sock.recv(4096).decode().strip())
print("seconds", int(time.monotonic() - start))
