# Send COUNT messages to alice@example.org over one SMTP connection (args:
# PORT COUNT TAG), one transaction after another, and print the number of
# each message as its 250 arrives: the test reads how far the sender got,
# and knows that message i was acknowledged before message i+1 was sent.
import smtplib, sys
port, count, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = smtplib.SMTP("127.0.0.1", port, "mx.remote.example", timeout=60)
for i in range(count):
    msg = (f"From: x@remote.example\r\nTo: alice@example.org\r\nSubject: {tag} {i}\r\n"
           f"Message-ID: <{tag}.{i}@remote.example>\r\n\r\n{tag} body {i}\r\n"
           + "x" * (i % 300) + "\r\n")
    refused = s.sendmail("x@remote.example", ["alice@example.org"], msg.encode())
    assert not refused, refused
    print(i, flush=True)
s.quit()
