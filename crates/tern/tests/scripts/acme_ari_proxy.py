# A CA with renewal information (RFC 9773) for the test: pebble 2.4.0 has
# none, so this HTTPS server serves pebble's directory with a
# `renewalInfo` URL added, and answers that URL itself. Every other URL in
# the directory still points at pebble. The first certificate asked
# about gets a window that is already open (renew now), every other one a
# window a month away. Each question is appended to LOG.
# argv: port, pebble directory URL, CA file, cert, key, log file
import datetime, http.server, json, ssl, sys, urllib.request
port, pebble_dir, cafile, cert, key, log = sys.argv[1:7]
first = []

def window(cert_id):
    now = datetime.datetime.now(datetime.timezone.utc)
    if not first or first[0] == cert_id:
        first[:] = [cert_id]
        start, end = now - datetime.timedelta(hours=2), now - datetime.timedelta(hours=1)
    else:
        start, end = now + datetime.timedelta(days=30), now + datetime.timedelta(days=31)
    f = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"suggestedWindow": {"start": f(start), "end": f(end)}}

class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, body, extra=()):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/dir":
            ctx = ssl.create_default_context(cafile=cafile)
            with urllib.request.urlopen(pebble_dir, context=ctx, timeout=10) as r:
                d = json.load(r)
            d["renewalInfo"] = "https://127.0.0.1:%s/ari" % port
            self.reply(d)
        elif self.path.startswith("/ari/"):
            cert_id = self.path[len("/ari/"):]
            with open(log, "a") as f:
                f.write(cert_id + "\n")
            self.reply(window(cert_id), [("Retry-After", "1")])
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
