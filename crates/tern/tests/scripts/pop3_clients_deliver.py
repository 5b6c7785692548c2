import smtplib, sys
body = b"Subject: via smtp\r\n\r\nfirst\r\n.\r\n..double\r\n.single\r\nlast\r\n"
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=20)
print(s.sendmail("sender@remote.example", ["alice@example.org"], body))
s.quit()
