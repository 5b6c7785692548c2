import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.starttls(context=ctx)
s.login('alice@example.org', 's3cret')
msg = ('From: Alice <alice@example.org>\r\nTo: bob@remote.example\r\nBcc: hidden@remote.example\r\n'
       'Subject: signed and sent\r\n\r\nHello Bob.\r\n')
print(s.sendmail('alice@example.org', ['bob@remote.example'], msg))
s.quit()
