import imaplib, ssl, socket, subprocess, sys, time
port, cafile, user, password, smtp = sys.argv[1:6]
flag_port, flag_ca = sys.argv[6:8] if len(sys.argv) > 7 else (None, None)
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=30)
M.login(user, password)
print("select", M.select("INBOX")[1][0].decode())
tag = M._new_tag().decode()
M.send(f"{tag} IDLE\r\n".encode())
print("cont", M.readline().decode().strip())
r = subprocess.run(["swaks", "--server", f"127.0.0.1:{smtp}", "--from", "s@remote.example",
                    "--to", user, "--header", "Subject: pushed", "--body", "hello"],
                   capture_output=True, text=True, timeout=60)
print("swaks", r.returncode)
t0 = time.monotonic()
# Nothing is sent while waiting: the server must push.
line = M.readline().decode().strip()
print("pushed", line)
# The idling session takes the new message as recent (RFC 3501 2.3.2).
print("recent", M.readline().decode().strip())
print("within-30s", time.monotonic() - t0 < 30)
if flag_port:
    fctx = ssl.create_default_context(cafile=flag_ca)
    fctx.check_hostname = False
    N = imaplib.IMAP4_SSL("127.0.0.1", int(flag_port), ssl_context=fctx, timeout=30)
    N.login(user, password)
    N.select("INBOX")
    N.store("1", "+FLAGS", "(\\Flagged)")
    N.logout()
    print("flag-pushed", M.readline().decode().strip())
M.send(b"DONE\r\n")
while True:
    l = M.readline().decode().strip()
    if l.startswith(tag):
        print("done", l)
        break
    print("extra", l)
M.logout()
