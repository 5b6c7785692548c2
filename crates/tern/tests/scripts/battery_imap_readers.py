import hashlib, threading
count, mib, readers = int(args[0]), int(args[1]), int(args[2])
line = b"y" * 76 + b"\r\n"
msgs = [b"Subject: big %d\r\n\r\n" % i + line * (mib * 1024 * 1024 // len(line)) for i in range(count)]
M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=120)
M.login(user, password)
for m in msgs:
    print("append", M.append("INBOX", None, None, m)[0])
want = sorted(hashlib.sha256(m).hexdigest() for m in msgs)
results = []
def read():
    C = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=300)
    C.login(user, password)
    C.select("INBOX", readonly=True)
    typ, data = C.fetch("1:*", "(BODY.PEEK[])")
    got = sorted(hashlib.sha256(d[1]).hexdigest() for d in data if isinstance(d, tuple))
    results.append((typ, got == want))
    C.logout()
threads = [threading.Thread(target=read) for _ in range(readers)]
for t in threads:
    t.start()
for t in threads:
    t.join(300)
for typ, same in results:
    print("read", typ, same)
