import smtplib, ssl, sys
port = int(sys.argv[1])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', port, local_hostname='client.example')
s.ehlo(); s.starttls(context=ctx); s.ehlo()
assert s.has_extn('size') and s.has_extn('smtputf8') and s.has_extn('8bitmime') and s.has_extn('chunking')
r = s.sendmail('sender@remote.example', ['alice@example.org'], 'Subject: eight\r\n\r\nGr\u00fc\u00dfe\r\n'.encode(), mail_options=['BODY=8BITMIME'])
print('8bit', r)
r = s.sendmail('s\u00e9nder@remote.example', ['j\u00f6rg@example.org'], 'Subject: utf8\r\n\r\nhi\r\n'.encode(), mail_options=['SMTPUTF8'])
print('utf8', r)
try:
    s.sendmail('sender@remote.example', ['alice@example.org'], b'x' * 100, mail_options=['SIZE=999999999999'])
except smtplib.SMTPSenderRefused as e:
    print('size', e.smtp_code, e.smtp_error.decode())
s.quit()
