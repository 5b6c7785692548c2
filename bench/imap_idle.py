#!/usr/bin/env python3
"""Client side of bench/imap-idle: many IMAP sessions in IDLE, and when
each saw a delivery's `* N EXISTS`.

  hold PORT CONNS SRC_IPS USER PASS
      Opens CONNS sessions over implicit TLS (50 handshakes at a time),
      round-robin over the loopback source addresses SRC_IPS (comma-
      separated), each LOGIN, SELECT INBOX, IDLE. Prints `ready N` once
      all are idling (N: how many made it), then waits for `* … EXISTS` on
      each (at most WAIT seconds, env, default 120) and prints one JSON line:
      {"ready": N, "seen": [epoch seconds of each EXISTS, …]}.

  send PORT
      Sends one message over SMTP to the bench user and prints the epoch
      times at which the end of its data went out and the 250 came back.
"""

import asyncio
import json
import os
import smtplib
import ssl
import sys
import time


def context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def one(port, ctx, src, user, password):
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, local_addr=(src, 0))
    await r.readline()

    async def cmd(text):
        w.write(text + b"\r\n")
        await w.drain()
        while True:
            line = await r.readline()
            if not line:
                raise ConnectionError("closed")
            if line.startswith(b"t "):
                if not line.startswith(b"t OK"):
                    raise RuntimeError(line)
                return

    await cmd(b't LOGIN "%s" "%s"' % (user.encode(), password.encode()))
    await cmd(b"t SELECT INBOX")
    w.write(b"i IDLE\r\n")
    await w.drain()
    while not (await r.readline()).startswith(b"+"):
        pass
    return r, w


async def hold(port, conns, srcs, user, password):
    ctx = context()
    sem = asyncio.Semaphore(50)

    async def limited(i):
        async with sem:
            try:
                return await one(port, ctx, srcs[i % len(srcs)], user, password)
            except (OSError, RuntimeError, ConnectionError) as e:
                print(f"session {i}: {e}", file=sys.stderr)
                return None

    held = [h for h in await asyncio.gather(*(limited(i) for i in range(conns))) if h]
    print(f"ready {len(held)}", flush=True)
    seen = []

    async def wait_exists(r):
        while True:
            line = await r.readline()
            if not line:
                return
            if line.startswith(b"* ") and line.rstrip().endswith(b"EXISTS"):
                seen.append(time.time())
                return

    wait = float(os.environ.get("WAIT", "120"))
    try:
        await asyncio.wait_for(asyncio.gather(*(wait_exists(r) for r, _ in held)), wait)
    except asyncio.TimeoutError:
        pass
    print(json.dumps({"ready": len(held), "seen": seen}), flush=True)
    for _, w in held:
        w.close()


def send(port):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("bench.example")
    s.mail("sender@example.net")
    s.rcpt("bench@example.org")
    code, _ = s.docmd("DATA")
    assert code == 354, code
    body = (
        b"From: sender@example.net\r\nTo: bench@example.org\r\nSubject: wake up\r\n\r\n"
        + b"".join(b"line %02d of the body, some seventy octets long to fill it out.\r\n" % i for i in range(30))
        + b".\r\n"
    )
    t0 = time.time()
    s.sock.sendall(body)
    code, _ = s.getreply()
    assert code == 250, code
    t1 = time.time()
    s.quit()
    print(f"{t0:.6f} {t1:.6f}", flush=True)


def main():
    mode = sys.argv[1]
    if mode == "hold":
        port, conns, srcs, user, password = sys.argv[2:7]
        asyncio.run(hold(int(port), int(conns), srcs.split(","), user, password))
    elif mode == "send":
        send(int(sys.argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
