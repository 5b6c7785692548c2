import smtplib, threading
smtp_port, workers = int(args[0]), int(args[1])
M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=60)
M.login(user, password)
print("create", M.create("a" * 200)[0])
results = []
def pathological():
    C = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=120)
    C.login(user, password)
    for p in ["*a*a*a*a*a*a*b", "%a%a%a%a%a%a%a%a%a%a%b", "*a*a*a*a*a*a*a*a*a*a*a*a*"]:
        typ, data = C.list('""', p)
        results.append((p, typ, [d for d in data if d]))
    C.logout()
threads = [threading.Thread(target=pathological) for _ in range(workers)]
for th in threads:
    th.start()
O = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=30)
print("other imap", O.login(user, password)[0])
O.logout()
s = smtplib.SMTP("127.0.0.1", smtp_port, timeout=30)
print("other smtp", s.noop()[0])
s.quit()
for th in threads:
    th.join(120)
for p, typ, data in results:
    print("list", p, typ, len(data))
typ, data = M.list('""', "*" * 5000)
print("long pattern", typ, data[0].decode())
M.logout()
