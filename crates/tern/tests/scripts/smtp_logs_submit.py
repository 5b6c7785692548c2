import smtplib, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
s = smtplib.SMTP_SSL(host, int(port), timeout=20, context=ssl._create_unverified_context())
s.login("alice@example.org", "pw-alice-123456")
s.mail("alice@example.org")
s.rcpt("someone@remote.example")
code, text = s.data(b"From: alice@example.org\r\nTo: someone@remote.example\r\nSubject: hi\r\n\r\nhello\r\n")
print("data", code, text.decode())
s.quit()
