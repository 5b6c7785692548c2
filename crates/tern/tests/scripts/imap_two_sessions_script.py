class C:
    n = 0
    def __init__(self):
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
        self.s = ctx.wrap_socket(s)
        self.f = self.s.makefile("rb")
        self.f.readline()
    def line(self):
        l = self.f.readline()
        if not l:
            raise SystemExit("connection closed")
        return l.decode().rstrip("\r\n")
    def cmd(self, text):
        C.n += 1
        tag = f"t{C.n}"
        self.s.sendall(f"{tag} {text}\r\n".encode())
        untagged = []
        while True:
            l = self.line()
            if l.startswith(tag + " "):
                return untagged, l[len(tag) + 1:].split(" ")[0]
            untagged.append(l)
def out(step, r):
    print(f"{step}\t{'|'.join(r[0])}\t{r[1]}")
a, b = C(), C()
for c in (a, b):
    c.cmd(f'LOGIN "{user}" "{password}"')
for i in range(1, 7):
    msg = f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode()
    a.s.sendall(f"ap{i} APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    while not a.line().startswith(f"ap{i} "):
        pass
a.cmd("SELECT INBOX")
b.cmd("SELECT INBOX")
# B flags message 1 and expunges message 2.
out("b-store", b.cmd("STORE 1 +FLAGS.SILENT (\\Flagged)"))
b.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
out("b-expunge", b.cmd("EXPUNGE"))
# A: FETCH, STORE and SEARCH tell the flag change but not the expunge.
out("a-fetch", a.cmd("FETCH 1:* (FLAGS)"))
out("a-store", a.cmd("STORE 3 +FLAGS (\\Seen)"))
out("a-search", a.cmd("SEARCH FLAGGED"))
# NOOP delivers it.
out("a-noop", a.cmd("NOOP"))
out("a-fetch-after", a.cmd("FETCH 1:* (UID)"))
# A UID command may deliver an expunge: UID FETCH, UID SEARCH, UID STORE.
def expunge_uid(u):
    b.cmd(f"UID STORE {u} +FLAGS.SILENT (\\Deleted)")
    b.cmd("EXPUNGE")
expunge_uid(4)
out("a-uid-fetch", a.cmd("UID FETCH 1:* (FLAGS)"))
expunge_uid(1)
out("a-uid-search", a.cmd("UID SEARCH ALL"))
expunge_uid(3)
out("a-uid-store", a.cmd("UID STORE 6 +FLAGS (\\Answered)"))
# IDLE delivers expunges and flag changes as they happen.
b.cmd("UID STORE 5 +FLAGS.SILENT (\\Deleted)")
out("a-noop-deleted", a.cmd("NOOP"))
C.n += 1
tag = f"t{C.n}"
a.s.sendall(f"{tag} IDLE\r\n".encode())
cont = a.line()
b.cmd("EXPUNGE")
pushed = [a.line()]
b.cmd("UID STORE 6 -FLAGS.SILENT (\\Answered)")
pushed.append(a.line())
a.s.sendall(b"DONE\r\n")
while not a.line().startswith(tag + " "):
    pass
print(f"a-idle\t{cont}|{'|'.join(pushed)}\tOK")
out("a-final", a.cmd("FETCH 1:* (UID FLAGS)"))
out("b-final", b.cmd("FETCH 1:* (UID FLAGS)"))
