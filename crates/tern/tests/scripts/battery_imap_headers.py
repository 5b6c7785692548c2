# Header SEARCH keys over hostile header blocks. Appends, in order:
# 1 5,000 From fields, the last one evil@example.net (duplicate headers);
# 2 a From of 2,000 encoded words whose last two decode to "ev" "il"
#   (adjacent encoded words join with no space, RFC 2047 6.2);
# 3 a From folded over 20,000 lines, "evil" on the last;
# 4 a From with a zero-width space inside "ev\u200bil";
# 5 an ordinary From. Then prints each search's status and hits.
import socket
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=120))
f = s.makefile("rb")
f.readline()
def cmd(tag, line, literal=None):
    if literal is None:
        s.sendall(tag + b" " + line + b"\r\n")
    else:
        s.sendall(tag + b" " + line + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
    hits = b""
    while True:
        l = f.readline()
        if not l:
            return "closed", hits
        if l.startswith(b"* SEARCH"):
            hits = l[len(b"* SEARCH"):].strip()
        if l.startswith(tag + b" "):
            return l[len(tag) + 1:].decode(errors="replace").split()[0], hits
def case(name, tag, line, literal=None):
    status, hits = cmd(tag, line, literal)
    print(name, status, hits.decode().replace(" ", ",") or "-")
body = b"\r\nbody\r\n"
case("login", b"l", b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))
case("select", b"s", b"SELECT INBOX")
many = b"".join(b"From: x%d@example.net\r\n" % i for i in range(5000))
case("append-many", b"a1", b"APPEND INBOX", many + b"From: evil@example.net\r\n" + body)
words = b" ".join(b"=?utf-8?q?w%d?=" % i for i in range(2000))
case("append-words", b"a2", b"APPEND INBOX",
     b"From: " + words + b" =?utf-8?q?ev?= =?utf-8?q?il?= <a@x.example>\r\n" + body)
folded = b"From: a" + b"".join(b"\r\n f%d" % i for i in range(20000)) + b"\r\n evil <b@x.example>\r\n"
case("append-folded", b"a3", b"APPEND INBOX", folded + body)
case("append-invisible", b"a4", b"APPEND INBOX",
     "From: ev\u200bil@example.net\r\n".encode() + body)
case("append-plain", b"a5", b"APPEND INBOX", b"From: Someone <someone@example.net>\r\n" + body)
case("from-evil", b"c1", b"SEARCH FROM evil")
case("from-angle", b"c2", b"SEARCH FROM <a@x.example>")
case("header-from", b"c3", b"SEARCH HEADER From someone")
case("long-needle", b"c4", b"SEARCH FROM", b"a" * 60000 + b"b")
case("not-from", b"c5", b"SEARCH NOT FROM evil")
s.close()
