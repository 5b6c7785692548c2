import socket, ssl, sys, base64
from sievelib import managesieve
port, cafile, user, password, app_password = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False  # the certificate names a host; the test dials an IP
managesieve.ssllib.create_default_context = lambda *a, **k: ctx
GOOD = 'require ["fileinto"];\r\nif header :contains "subject" "[list]" {\r\n  fileinto "Lists";\r\n}\r\n'
BAD = 'keep;\r\n\r\nfileinto "x";\r\n'

# Credentials before TLS: refused before they are read.
s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
f = s.makefile("rb")
greeting = []
while True:
    line = f.readline().decode()
    greeting.append(line.strip())
    if line.startswith("OK"):
        break
print("greeting sasl", [l for l in greeting if l.startswith('"SASL"')][0])
ir = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
s.sendall(('AUTHENTICATE "PLAIN" "%s"\r\n' % ir).encode())
print("cleartext", f.readline().decode().strip())
s.close()

c = managesieve.Client("127.0.0.1", int(port))
print("login", c.connect(user, password, starttls=True, authmech="PLAIN"))
print("implementation", c.get_implementation())
print("fileinto", "fileinto" in c.get_sieve_capabilities())
print("put", c.putscript("lists", GOOD))
print("put bad", c.putscript("bad", BAD), c.errmsg.decode())
print("check bad", c.checkscript(BAD), c.errmsg.decode())
print("check good", c.checkscript(GOOD))
print("put other", c.putscript("other", "keep;\r\n"))
print("activate", c.setactive("lists"))
print("list", c.listscripts())
print("get", c.getscript("lists") == GOOD.replace("\r\n", "\n").rstrip("\n"))
print("rename", c.renamescript("lists", "filters"))
print("delete active", c.deletescript("filters"), c.errcode.decode())
print("deactivate", c.setactive(""))
print("delete", c.deletescript("filters"))
print("list", c.listscripts())
c.logout()

# An app password logs in, with LOGIN too.
c = managesieve.Client("127.0.0.1", int(port))
print("app password", c.connect(user, app_password, starttls=True, authmech="LOGIN"))
print("list", c.listscripts())
c.logout()
c = managesieve.Client("127.0.0.1", int(port))
print("wrong password", c.connect(user, "wrong", starttls=True, authmech="PLAIN"))
