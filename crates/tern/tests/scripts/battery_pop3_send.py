import hashlib, smtplib, sys
port, n, mib = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
line = b"x" * 76 + b"\r\n"
body = b"Subject: big\r\nFrom: x@remote.example\r\n\r\n" + line * (mib * 1024 * 1024 // len(line))
s = smtplib.SMTP("127.0.0.1", port, timeout=120)
rcpts = ["u%d@example.test" % i for i in range(n)]
s.sendmail("x@remote.example", rcpts, body)
s.quit()
text = body.split(b"\r\n\r\n", 1)[1]
print(hashlib.sha256(text).hexdigest(), len(text))
