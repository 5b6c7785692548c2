import imaplib, poplib, smtplib, ssl, sys
imaps, pop3s, submissions, cafile, user, password = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False  # the certificate names a host; the test dials an IP
def imap():
    m = imaplib.IMAP4_SSL("127.0.0.1", int(imaps), ssl_context=ctx, timeout=20)
    try:
        m.login(user, password)
        return "ok"
    except imaplib.IMAP4.error:
        return "refused"
    finally:
        m.logout()
def pop3():
    p = poplib.POP3_SSL("127.0.0.1", int(pop3s), context=ctx, timeout=20)
    try:
        p.user(user)
        p.pass_(password)
        return "ok"
    except poplib.error_proto:
        return "refused"
    finally:
        p.quit()
def submission():
    s = smtplib.SMTP_SSL("127.0.0.1", int(submissions), context=ctx, timeout=20)
    try:
        s.login(user, password)
        return "ok"
    except smtplib.SMTPAuthenticationError:
        return "refused"
    finally:
        s.quit()
for name, login in (("imap", imap), ("pop3", pop3), ("submission", submission)):
    print(name, login())
