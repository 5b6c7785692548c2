# The events /metrics must count: one message received over SMTP, one
# refused for its header section (over 256 KiB), and one failed IMAP login
# (a wrong password over implicit TLS).
# argv: smtp port, imaps port.
import imaplib
import smtplib
import ssl
import sys

smtp_port, imaps_port = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

s = smtplib.SMTP("127.0.0.1", smtp_port, local_hostname="client.example", timeout=60)
s.ehlo()
s.starttls(context=ctx)
s.ehlo()
refused = s.sendmail("sender@remote.example", ["alice@example.org"],
                     b"From: sender@remote.example\r\nTo: alice@example.org\r\nSubject: m\r\n\r\nhi\r\n")
assert refused == {}, refused
pad = "".join("X-Pad-%d: %s\r\n" % (i, "p" * 900) for i in range(350))
try:
    s.sendmail("sender@remote.example", ["alice@example.org"],
               ("From: sender@remote.example\r\n" + pad + "\r\nbody\r\n").encode())
    raise SystemExit("FAIL: a 300 KiB header section was accepted")
except smtplib.SMTPDataError as e:
    assert e.smtp_code // 100 == 5, e
s.quit()

m = imaplib.IMAP4_SSL("127.0.0.1", imaps_port, ssl_context=ctx, timeout=60)
try:
    m.login("alice@example.org", "not the password")
    raise SystemExit("FAIL: a wrong password logged in")
except imaplib.IMAP4.error:
    pass
m.logout()
print("ok")
