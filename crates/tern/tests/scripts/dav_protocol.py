# The protocol, request by request (http.client over TLS): what a client
# sees without credentials, OPTIONS, PROPFIND depths, another user's home,
# vCards kept byte for byte, preconditions, addressbook-query,
# sync-collection with a limit, MOVE and COPY. One line per check.
import base64, http.client, re, ssl, sys
port, cafile, user, password, other, app_password = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()

def req(method, path, body=None, headers=None, creds=True):
    c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=30)
    h = dict(headers or {})
    if creds:
        h["Authorization"] = auth
    if body is not None and "Content-Type" not in h:
        h["Content-Type"] = "application/xml; charset=utf-8"
    c.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r, data

from urllib.parse import quote
U = quote(user, safe="")
home = "/dav/addressbooks/%s/" % U
book = home + "default/"

s, r, _ = req("PROPFIND", "/dav/", creds=False, headers={"Depth": "0"})
print("no credentials", s, r.getheader("WWW-Authenticate"))
c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=30)
c.request("PROPFIND", "/dav/", headers={"Depth": "0", "Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, app_password)).encode()).decode()})
print("app password", c.getresponse().status)
c.close()
s, r, _ = req("PROPFIND", "/dav/", creds=False, headers={"Depth": "0", "Authorization": "Basic " + base64.b64encode(("%s:wrong" % user).encode()).decode()})
print("wrong password", s)
s, r, _ = req("OPTIONS", "/dav/", creds=False)
print("options", s, r.getheader("DAV"))
s, r, d = req("PROPFIND", home, headers={"Depth": "infinity"})
print("depth infinity", s, b"propfind-finite-depth" in d)
s, r, d = req("PROPFIND", "/dav/addressbooks/%s/" % quote(other, safe=""), headers={"Depth": "0"})
print("another user's home", s)
s, r, d = req("PROPFIND", home, """<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:resourcetype/><d:displayname/><card:supported-address-data/><d:sync-token/></d:prop></d:propfind>""", {"Depth": "1"})
hrefs = re.findall(rb"<d:href>([^<]*)</d:href>", d)
print("home members", s, [h.decode() for h in hrefs])
s, r, d = req("REPORT", home, """<?xml version="1.0"?><d:expand-property xmlns:d="DAV:"/>""", {"Depth": "0"})
print("report on a home", s, b"supported-report" in d)

# Apple Contacts writes odd parameters; they come back as they went in.
APPLE = ("BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\nN:Appleseed;Johnny;;;\r\n"
         "FN:Johnny Appleseed\r\nitem1.EMAIL;type=INTERNET;type=pref:johnny@apple.example\r\nitem1.X-ABLabel:_$!<Other>!$_\r\n"
         "TEL;type=CELL;type=VOICE;type=pref:+1 (555) 010-0199\r\nUID:A5F0B2C4-1111-4C7D-9A3E-0123456789AB\r\n"
         "X-ABUID:A5F0B2C4-1111-4C7D-9A3E-0123456789AB:ABPerson\r\nEND:VCARD\r\n")
GOOGLE = ("BEGIN:VCARD\nVERSION:3.0\nFN:Grace Hopper\nN:Hopper;Grace;;;\nEMAIL;TYPE=INTERNET;TYPE=WORK:grace@navy.example\n"
          "ORG:US Navy;\nUID:google-contact-7\nCATEGORIES:myContacts\nEND:VCARD\n")
THUNDERBIRD = ("BEGIN:VCARD\r\nVERSION:4.0\r\nEMAIL;PREF=1:ada@engine.example\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\n"
               "UID:6f1a2b3c-thunderbird\r\nNOTE:Café \\, analytical\r\nEND:VCARD\r\n")
for name, card in (("apple.vcf", APPLE), ("google.vcf", GOOGLE), ("ada lovelace.vcf", THUNDERBIRD)):
    s, r, _ = req("PUT", book + quote(name), card.encode("utf-8"), {"Content-Type": "text/vcard", "If-None-Match": "*"})
    s2, r2, got = req("GET", book + quote(name))
    print("vcard", name, s, s2, got == card.encode("utf-8"), r.getheader("ETag") == r2.getheader("ETag"))
s, r, d = req("PUT", book + "again.vcf", APPLE, {"Content-Type": "text/vcard"})
print("same uid again", s, b"no-uid-conflict" in d)
s, r, d = req("PUT", book + "apple.vcf", APPLE, {"Content-Type": "text/vcard", "If-None-Match": "*"})
print("if-none-match on an existing one", s)
s, r, d = req("PUT", book + "bad.vcf", "BEGIN:VCARD\r\nFN:x\r\n", {"Content-Type": "text/vcard"})
print("not a vcard", s, b"valid-address-data" in d)

s, r, d = req("REPORT", book, """<?xml version="1.0"?><card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/></d:prop><card:filter><card:prop-filter name="EMAIL"><card:text-match collation="i;unicode-casemap" match-type="contains">NAVY</card:text-match></card:prop-filter></card:filter></card:addressbook-query>""", {"Depth": "1"})
print("addressbook-query", s, [h.decode() for h in re.findall(rb"<d:href>([^<]*)</d:href>", d)])

sync = """<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>%s</d:sync-token><d:sync-level>1</d:sync-level>%s<d:prop><d:getetag/></d:prop></d:sync-collection>"""
s, r, d = req("REPORT", book, sync % ("", "<d:limit><d:nresults>2</d:nresults></d:limit>"))
first = re.findall(rb"<d:href>([^<]*)</d:href>", d)
tok = re.search(rb"<d:sync-token>([^<]*)</d:sync-token>", d).group(1).decode()
print("sync with a limit", s, len(first), b"507" in d)
s, r, d = req("REPORT", book, sync % (tok, ""))
rest = re.findall(rb"<d:href>([^<]*)</d:href>", d)
tok = re.search(rb"<d:sync-token>([^<]*)</d:sync-token>", d).group(1).decode()
print("the rest", s, len(rest))
req("DELETE", book + "google.vcf")
s, r, d = req("REPORT", book, sync % (tok, ""))
print("after a delete", s, [h.decode().rsplit("/", 1)[1] for h in re.findall(rb"<d:href>([^<]*)</d:href>", d)], b"404" in d)
s, r, d = req("REPORT", book, sync % (tok.rsplit("-", 1)[0] + "-99999", ""))
print("a token from the future", s, b"valid-sync-token" in d)

# A new address book with a name that needs encoding, MOVE and COPY.
nb = home + quote("Työ kontaktit") + "/"
s, _, _ = req("MKCOL", nb, """<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><card:addressbook/></d:resourcetype><d:displayname>Work</d:displayname></d:prop></d:set></d:mkcol>""")
print("mkcol", s)
dest = "https://127.0.0.1:%s%s" % (port, nb + "ada.vcf")
s, _, _ = req("COPY", book + quote("ada lovelace.vcf"), headers={"Destination": dest})
print("copy", s)
s, _, _ = req("MOVE", book + "apple.vcf", headers={"Destination": "https://127.0.0.1:%s%s" % (port, nb + "ada.vcf"), "Overwrite": "F"})
print("move onto an existing one without overwrite", s)
s, _, _ = req("MOVE", book + "apple.vcf", headers={"Destination": "https://127.0.0.1:%s%s" % (port, nb + "apple.vcf")})
print("move", s, req("GET", nb + "apple.vcf")[2] == APPLE.encode(), req("GET", book + "apple.vcf")[0])
s, r, d = req("PROPFIND", home, """<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/></d:prop></d:propfind>""", {"Depth": "1"})
print("encoded", [h.decode() for h in re.findall(rb"<d:href>([^<]*)</d:href>", d) if b"Ty" in h])
s, r, d = req("PROPPATCH", nb, """<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:displayname>Työ</d:displayname><card:addressbook-description>Colleagues</card:addressbook-description></d:prop></d:set></d:propertyupdate>""")
print("proppatch", s, b"200 OK" in d)
s, r, d = req("PROPPATCH", nb, """<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>x</d:displayname><d:getetag>y</d:getetag></d:prop></d:set></d:propertyupdate>""")
print("proppatch of a live property", s, b"403 Forbidden" in d, b"424 Failed Dependency" in d)
