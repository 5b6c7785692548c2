# An IMAPS client (imaplib), an SMTP STARTTLS client (smtplib) and an
# HTTPS client (http.client), each verifying tern's certificate chain
# against the CA's root for the hostname (dialling 127.0.0.1). Prints one
# JSON object: the SHA-256 of the leaf each one was served.
import hashlib, http.client, imaplib, json, smtplib, socket, ssl, sys

root, host, imaps_port, smtp_port, https_port = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=root)  # check_hostname is on


def fp(sock):
    return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


class Imaps(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout)
        return self.ssl_context.wrap_socket(raw, server_hostname=self.host)


out = {}
m = Imaps(host, int(imaps_port), ssl_context=ctx, timeout=30)
out["imaps"] = fp(m.sock)
m.logout()

s = smtplib.SMTP(timeout=30)
s.connect("127.0.0.1", int(smtp_port))
s._host = host  # the name STARTTLS verifies
s.ehlo("client.example")
s.starttls(context=ctx)
out["smtp"] = fp(s.sock)
s.quit()


class Https(http.client.HTTPSConnection):
    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


h = Https(host, int(https_port), context=ctx, timeout=30)
h.request("GET", "/health")
r = h.getresponse()
assert r.status == 200, r.status
r.read()
out["https"] = fp(h.sock)
h.close()
print(json.dumps(out))
