import smtplib, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = smtplib.SMTP(host, int(port), timeout=30)
s.ehlo("client.example")
print("ready", flush=True)
start = time.monotonic()
code, text = s.getreply()
print(code, text.decode(), round(time.monotonic() - start, 2), flush=True)
