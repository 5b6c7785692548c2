import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=20)
f = s.makefile("rb")
f.readline()
s.sendall(b"EHLO client.example\r\n")
while not f.readline().startswith(b"250 "):
    pass
s.sendall(b"STARTTLS\r\n")
print(f.readline().decode().strip())
s.sendall(b"this is not a TLS ClientHello\r\n" * 4)
s.recv(1024)
s.close()
