import poplib, ssl, sys, time
port, cafile = sys.argv[1:3]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
p = poplib.POP3_SSL("127.0.0.1", int(port), context=ctx, timeout=60)
p.user("u0@example.test"); p.pass_("pw")
p._putcmd("RETR 1")   # and never read the answer
time.sleep(3)
print("stalled")
