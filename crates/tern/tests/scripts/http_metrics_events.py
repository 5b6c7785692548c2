# The events /metrics must count: one message received over SMTP, and one
# failed IMAP login (a wrong password over implicit TLS).
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
s.quit()

m = imaplib.IMAP4_SSL("127.0.0.1", imaps_port, ssl_context=ctx, timeout=60)
try:
    m.login("alice@example.org", "not the password")
    raise SystemExit("FAIL: a wrong password logged in")
except imaplib.IMAP4.error:
    pass
m.logout()
print("ok")
