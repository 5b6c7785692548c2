# Hostile HTTP/1.1 on raw sockets: oversized and too many header fields,
# broken request lines, request smuggling shapes (RFC 9112 6.3), broken
# chunked framing, an HTTP/2 preface on plain http, and a flood of
# half-sent requests. For each: what came back (the status, or "closed").
# argv: port, number of flood connections.
import socket
import sys

port, flood = int(sys.argv[1]), int(sys.argv[2])


def exchange(data, read_all=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(data)
    except OSError:
        pass
    got = b""
    try:
        while len(got) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
            if not read_all and b"\r\n\r\n" in got:
                break
    except OSError:
        pass
    s.close()
    if not got:
        return "closed"
    line = got.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return parts[1] if len(parts) > 1 and line.startswith("HTTP/1.1") else "garbage:" + line[:40]


cases = {
    "long header line": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n",
    "many header fields": b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(500)) + b"\r\n",
    "bad request line": b"GARBAGE\r\n\r\n",
    "bad version": b"GET /health HTTP/7.0\r\nHost: x\r\n\r\n",
    "content-length and chunked": b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    "two content-lengths": b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd",
    "bad chunk size": b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzzzz\r\nabc\r\n0\r\n\r\n",
    "huge chunk size": b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n",
    "http2 preface on plain http": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "nul in header": b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "bare lf": b"GET /health HTTP/1.1\nHost: x\n\n",
}
for name, data in cases.items():
    print(f"{name}: {exchange(data)}")

# A flood of connections that send half a request and wait: each is held
# to the header time-out; the server keeps no more than their buffers.
socks = []
for _ in range(flood):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 4000)
        socks.append(s)
    except OSError:
        break
print(f"flood: {len(socks)}")
print(f"during flood: {exchange(b'GET /health HTTP/1.1' + bytes([13, 10]) + b'Host: x' + bytes([13, 10]) + b'Connection: close' + bytes([13, 10, 13, 10]))}")
for s in socks:
    s.close()
