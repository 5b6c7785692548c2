import socket
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=120))
f = s.makefile("rb")
f.readline()
def cmd(tag, line, literal=None):
    if literal is None:
        s.sendall(tag + b" " + line + b"\r\n")
    else:
        s.sendall(tag + b" " + line + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
    while True:
        l = f.readline()
        if not l:
            return "closed"
        if l.startswith(tag + b" "):
            return l[len(tag) + 1:].decode(errors="replace").strip()
def case(name, tag, line, literal=None):
    print(name, cmd(tag, line, literal)[:60].replace(" ", "_"))
case("login", b"l", b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))
case("long-name", b"a1", b"CREATE " + b"n" * 300)
case("deep-name", b"a2", b"CREATE " + b"/".join([b"d"] * 130))
# U+200B ZERO WIDTH SPACE and U+202E RIGHT-TO-LEFT OVERRIDE, in modified
# UTF-7 (RFC 3501 5.1.3) and as UTF-8 after ENABLE UTF8=ACCEPT.
case("zero-width", b"a3", b"CREATE al&IAs-ice")
case("rtl-override", b"a4", b"CREATE a&IC4-b")
case("enable", b"a9", b"ENABLE UTF8=ACCEPT")
case("zero-width-utf8", b"a10", b"CREATE", "bo\u200bb".encode())
case("ok-name", b"a5", b"CREATE plain")
case("rename-deep", b"a6", b"RENAME plain " + b"/".join([b"r"] * 20))
s.sendall(b"a8 LIST \"\" *\r\n")
names = []
while True:
    l = f.readline()
    if l.startswith(b"a8 "):
        break
    names.append(l)
print("names", len(names), any(b"d/d" in n for n in names), any(b"r/r" in n for n in names))
case("select", b"b1", b"SELECT INBOX")
case("append", b"b2", b"APPEND INBOX", b"Subject: a\r\n\r\n" + b"a" * 200000 + b"\r\n")
kw = lambda a, b: b"(" + b" ".join(b"k%d" % i for i in range(a, b)) + b")"
case("keywords-300", b"k1", b"STORE 1 +FLAGS " + kw(0, 300))
case("keywords-200", b"k2", b"STORE 1 +FLAGS.SILENT " + kw(0, 200))
case("keywords-100-more", b"k3", b"STORE 1 +FLAGS.SILENT " + kw(200, 300))
case("nested-search", b"c1", b"SEARCH " + b"(" * 30000 + b"ALL" + b")" * 30000)
case("too-long", b"c2", b"SEARCH " + b"(" * 100000 + b"ALL" + b")" * 100000)
case("many-ranges", b"c3", b"FETCH " + b",".join([b"1:*"] * 15000) + b" (FLAGS)")
case("many-uid-ranges", b"c4", b"UID SEARCH UID " + b",".join([b"1:*"] * 15000))
case("many-text-keys", b"c5", b"SEARCH " + b" ".join([b"TEXT x"] * 100))
case("long-needle", b"c6", b"SEARCH TEXT", b"a" * 60000 + b"b")
case("huge-needle", b"c9", b"SEARCH TEXT", b"a" * 1000000)
case("thread", b"c7", b"THREAD REFERENCES UTF-8 ALL")
case("noop", b"c8", b"NOOP")
s.close()
