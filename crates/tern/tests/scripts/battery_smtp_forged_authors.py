import smtplib, ssl, sys
port = int(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
heads = [
  "From: bob@example.org\r\nFrom: alice@example.org",
  "FROM: bob@example.org\r\nfrom: alice@example.org",
  "From : bob@example.org\r\nFrom: alice@example.org",
  "From: <bob@example.org",
  "From: alice@example.org\r\nSender: bob@example.org",
  "From: alice@example.org, bob@example.org",
]
s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=60)
s.login("alice@example.org", "pw")
for h in heads:
    msg = h + "\r\nTo: bob@example.org\r\nSubject: forged\r\n\r\nhi\r\n"
    try:
        s.sendmail("alice@example.org", ["bob@example.org"], msg)
        print("accepted", repr(h))
    except smtplib.SMTPDataError as e:
        print("refused", e.smtp_code, e.smtp_error.decode()[:5])
s.sendmail("alice@example.org", ["bob@example.org"], "From: Alice <alice@example.org>\r\nSubject: ok\r\n\r\nhi\r\n")
print("sent the honest one")
s.quit()
