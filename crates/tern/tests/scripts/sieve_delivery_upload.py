# Upload a script with sievelib over ManageSieve (STARTTLS) and make it
# the active one; print what the server said.
import sys
from sievelib import managesieve
import ssl
port, cafile, user, password, name, path = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False  # the certificate names a host; the test dials an IP
managesieve.ssllib.create_default_context = lambda *a, **k: ctx
script = open(path, encoding="utf-8").read()
c = managesieve.Client("127.0.0.1", int(port))
assert c.connect(user, password, starttls=True, authmech="PLAIN"), "login"
ok = c.putscript(name, script)
print("put", ok, (c.errmsg or b"").decode())
if ok:
    print("activate", c.setactive(name))
c.logout()
