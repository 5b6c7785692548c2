import imaplib, ssl, sys
port, cafile, user, password = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
imaplib.Commands["UNAUTHENTICATE"] = ("AUTH", "SELECTED")
def conn():
    return imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
A = conn()
print("a", A.login(user, password)[0])
B = conn()
try:
    B.login(user, password)
    print("b accepted")
except imaplib.IMAP4.abort as e:
    print("b refused", e)
print("unauth", A._simple_command("UNAUTHENTICATE")[0])
C = conn()
print("c", C.login(user, password)[0])
C.logout()
