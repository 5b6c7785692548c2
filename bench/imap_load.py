"""IMAP load generator for bench/imap-load (any IMAP4rev1 server over
implicit TLS). Three modes (sessions in IDLE: bench/imap_idle.py):

  fill  PORT CAFILE USER PASS MESSAGES         APPEND the bench mailbox data
  load  PORT CAFILE USER PASS CLIENTS SECONDS SRC_IPS
                                               sessions in a loop; prints JSON
  reuse (as load)                              each client logs in once and
                                               runs the mix without LOGIN,
                                               SELECT and LOGOUT

The mailbox data is the same for every server: MESSAGES messages generated
from a fixed seed (plain and multipart, 1-24 KiB).
"""

import json
import multiprocessing
import random
import socket
import ssl
import sys
import time


def context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    return ctx


def message(i, rnd):
    size = rnd.choice([1024, 2048, 4096, 8192, 16384, 24576])
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do".split()
    body = []
    while sum(len(line) + 2 for line in body) < size:
        body.append(" ".join(rnd.choice(words) for _ in range(12)))
    text = "\r\n".join(body)
    head = (
        f"From: Sender {i % 97} <s{i % 97}@example.net>\r\n"
        f"To: bench@example.org\r\nSubject: bench message {i}\r\n"
        f"Date: Mon, 02 Nov 2026 {i % 24:02}:{i % 60:02}:00 +0000\r\n"
        f"Message-ID: <bench{i}@example.net>\r\nMIME-Version: 1.0\r\n"
    )
    if i % 3 == 0:
        return (
            head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
            "--b\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--b--\r\n"
        ).encode()
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n").encode()


class Client:
    """A small blocking client: one command, every response line back."""

    def __init__(self, port, ctx, src="127.0.0.1"):
        raw = socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(src, 0))
        self.s = ctx.wrap_socket(raw)
        self.f = self.s.makefile("rb")
        self.n = 0
        self.line()

    def line(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        # Literals: {N} at the end of a line, N bytes follow.
        if line.endswith(b"}\r\n") and b"{" in line:
            n = int(line[line.rindex(b"{") + 1 : -3].rstrip(b"+"))
            return line + self.f.read(n) + self.line()
        return line

    def cmd(self, text, literal=None):
        self.n += 1
        tag = b"c%d" % self.n
        if literal is None:
            self.s.sendall(tag + b" " + text + b"\r\n")
        else:
            self.s.sendall(tag + b" " + text + b" {%d}\r\n" % len(literal))
            if not self.f.readline().startswith(b"+"):
                raise RuntimeError("literal refused")
            self.s.sendall(literal + b"\r\n")
        out = []
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1 :].startswith(b"OK"):
                    raise RuntimeError(f"{text[:40]!r}: {line!r}")
                return out
            out.append(line)


def fill(port, cafile, user, password, count):
    c = Client(port, context(cafile))
    c.cmd(b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))
    try:
        c.cmd(b"CREATE Sent")
    except RuntimeError:
        pass  # already there
    rnd = random.Random(4242)
    for i in range(count):
        c.cmd(b"APPEND INBOX ()", message(i, rnd))
    c.cmd(b"LOGOUT")


# One session of the mix: LOGIN, SELECT, FETCH headers+flags, FETCH body,
# SEARCH, STORE, APPEND, LOGOUT.
MIX = ["LOGIN", "SELECT", "FETCH-HEADERS", "FETCH-BODY", "SEARCH", "STORE", "APPEND", "LOGOUT"]


def timer(stats):
    def timed(kind, fn):
        t0 = time.perf_counter()
        r = fn()
        s = stats.setdefault(kind, [0, 0.0])
        s[0] += 1
        s[1] += time.perf_counter() - t0
        return r

    return timed


def session(port, ctx, src, user, password, rnd, stats):
    timed = timer(stats)
    c = Client(port, ctx, src)
    timed("LOGIN", lambda: c.cmd(b'LOGIN "%s" "%s"' % (user.encode(), password.encode())))
    lines = timed("SELECT", lambda: c.cmd(b"SELECT INBOX"))
    exists = next(int(l.split()[1]) for l in lines if l.endswith(b" EXISTS\r\n"))
    work(c, exists, rnd, timed)
    timed("LOGOUT", lambda: c.cmd(b"LOGOUT"))
    c.s.close()


def work(c, exists, rnd, timed):
    """The mix's commands inside a session, after SELECT."""
    lo = rnd.randint(1, max(1, exists - 49))
    timed(
        "FETCH-HEADERS",
        lambda: c.cmd(
            b"FETCH %d:%d (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])"
            % (lo, min(exists, lo + 49))
        ),
    )
    for _ in range(2):
        n = rnd.randint(1, exists)
        timed("FETCH-BODY", lambda: c.cmd(b"FETCH %d (BODY.PEEK[])" % n))
    timed("SEARCH", lambda: c.cmd(b"SEARCH UNSEEN"))
    timed("SEARCH", lambda: c.cmd(b'SEARCH FROM "s%d@example.net"' % rnd.randint(0, 96)))
    n = rnd.randint(1, exists)
    timed("STORE", lambda: c.cmd(b"STORE %d +FLAGS (\\Seen)" % n))
    timed("STORE", lambda: c.cmd(b"STORE %d -FLAGS (\\Seen)" % n))
    msg = message(rnd.randint(0, 10**6), rnd)
    timed("APPEND", lambda: c.cmd(b"APPEND Sent (\\Seen)", msg))


def worker(args):
    port, cafile, user, password, seconds, src, seed, reuse = args
    ctx = context(cafile)
    rnd = random.Random(seed)
    stats = {}
    deadline = time.monotonic() + seconds
    sessions = 0
    if reuse:
        # Logged in once; the steady state of a client that stays
        # connected: the mix without LOGIN, SELECT and LOGOUT.
        c = Client(port, ctx, src)
        c.cmd(b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))
        lines = c.cmd(b"SELECT INBOX")
        exists = next(int(l.split()[1]) for l in lines if l.endswith(b" EXISTS\r\n"))
        timed = timer(stats)
        while time.monotonic() < deadline:
            work(c, exists, rnd, timed)
            sessions += 1
        c.cmd(b"LOGOUT")
        c.s.close()
        return sessions, stats
    while time.monotonic() < deadline:
        session(port, ctx, src, user, password, rnd, stats)
        sessions += 1
    return sessions, stats


def load(port, cafile, user, password, clients, seconds, srcs, reuse=False):
    args = [
        (port, cafile, user, password, seconds, srcs[i % len(srcs)], 1000 + i, reuse)
        for i in range(clients)
    ]
    t0 = time.monotonic()
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(worker, args)
    elapsed = time.monotonic() - t0
    total = {}
    sessions = 0
    for s, st in results:
        sessions += s
        for k, (n, t) in st.items():
            total.setdefault(k, [0, 0.0])
            total[k][0] += n
            total[k][1] += t
    commands = sum(n for n, _ in total.values())
    print(
        json.dumps(
            {
                "commands": commands,
                "sessions": sessions,
                "seconds": elapsed,
                "per_s": commands / elapsed,
                "ms": {k: 1000 * t / n for k, (n, t) in total.items()},
            }
        )
    )


def main():
    mode, port, cafile, user, password = sys.argv[1:6]
    rest = sys.argv[6:]
    if mode == "fill":
        fill(int(port), cafile, user, password, int(rest[0]))
    elif mode in ("load", "reuse"):
        load(
            int(port), cafile, user, password, int(rest[0]), float(rest[1]), rest[2].split(","),
            reuse=mode == "reuse",
        )
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
