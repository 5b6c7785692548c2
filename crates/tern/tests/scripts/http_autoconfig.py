# Client autoconfiguration read by Python's own parsers (xml.etree,
# plistlib) and checked field by field against the listeners tern printed.
# argv: http port, https port, hostname, then kind=port for every listener.
import http.client
import plistlib
import ssl
import sys
import xml.etree.ElementTree as ET

http_port, https_port, hostname = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ports = dict(a.split("=") for a in sys.argv[4:])
ports = {k: int(v) for k, v in ports.items()}

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def get(path, host=None, secure=False, method="GET", body=None):
    if secure:
        c = http.client.HTTPSConnection("127.0.0.1", https_port, context=ctx, timeout=30)
    else:
        c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
    headers = {"Host": host} if host else {}
    if body is not None:
        headers["Content-Type"] = "text/xml"
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), data


def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)


# Thunderbird, both URLs; the host names the domain, or the address does.
want_in = [("imap", ports["imaps"], "SSL"), ("imap", ports["imap"], "STARTTLS"),
           ("pop3", ports["pop3s"], "SSL"), ("pop3", ports["pop3"], "STARTTLS")]
want_out = [("smtp", ports["submissions"], "SSL"), ("smtp", ports["submission"], "STARTTLS")]
for path, host, secure in [
    ("/.well-known/autoconfig/mail/config-v1.1.xml", "autoconfig.example.org", False),
    ("/mail/config-v1.1.xml?emailaddress=alice%40example.org", None, False),
    ("/mail/config-v1.1.xml?emailaddress=alice%40example.org", None, True),
]:
    status, ctype, body = get(path, host, secure)
    check(status == 200, f"{path}: status {status}")
    check(ctype.startswith("application/xml"), f"content type {ctype}")
    root = ET.fromstring(body)
    check(root.tag == "clientConfig" and root.get("version") == "1.1", "clientConfig 1.1")
    prov = root.find("emailProvider")
    check(prov.get("id") == "example.org", "provider id")
    check(prov.findtext("domain") == "example.org", "domain")

    def servers(tag):
        out = []
        for s in prov.findall(tag):
            check(s.findtext("hostname") == hostname, f"hostname {s.findtext('hostname')}")
            check(s.findtext("username") == "%EMAILADDRESS%", "username")
            check(s.findtext("authentication") == "password-cleartext", "authentication")
            out.append((s.get("type"), int(s.findtext("port")), s.findtext("socketType")))
        return out

    check(servers("incomingServer") == want_in, f"incoming {servers('incomingServer')}")
    check(servers("outgoingServer") == want_out, f"outgoing {servers('outgoingServer')}")

# A domain tern does not host.
status, _, _ = get("/.well-known/autoconfig/mail/config-v1.1.xml", "autoconfig.elsewhere.example")
check(status == 404, f"unknown domain: {status}")
status, _, _ = get("/mail/config-v1.1.xml?emailaddress=a%40elsewhere.example")
check(status == 404, f"unknown address domain: {status}")

# Outlook POX Autodiscover, the path in Outlook's own casing.
req = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>alice@example.org</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"""
for path in ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml", "/AUTODISCOVER/AUTODISCOVER.XML"]:
    status, ctype, body = get(path, secure=True, method="POST", body=req)
    check(status == 200, f"{path}: {status}")
    ns = {"a": "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
          "o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
    root = ET.fromstring(body)
    acct = root.find("o:Response/o:Account", ns)
    check(acct.findtext("o:AccountType", namespaces=ns) == "email", "AccountType")
    check(acct.findtext("o:Action", namespaces=ns) == "settings", "Action")
    got = {}
    for p in acct.findall("o:Protocol", ns):
        t = p.findtext("o:Type", namespaces=ns)
        check(p.findtext("o:Server", namespaces=ns) == hostname, "Server")
        check(p.findtext("o:LoginName", namespaces=ns) == "alice@example.org", "LoginName")
        got[t] = (int(p.findtext("o:Port", namespaces=ns)), p.findtext("o:SSL", namespaces=ns))
    check(got == {"IMAP": (ports["imaps"], "on"), "POP3": (ports["pop3s"], "on"),
                  "SMTP": (ports["submissions"], "on")}, f"protocols {got}")
status, _, _ = get("/autodiscover/autodiscover.xml", secure=True, method="POST",
                   body=req.replace("example.org", "elsewhere.example"))
check(status == 404, f"autodiscover unknown domain: {status}")

# Apple configuration profile.
status, ctype, body = get("/apple/mobileconfig?email=alice%40example.org", secure=True)
check(status == 200, f"mobileconfig: {status}")
check(ctype == "application/x-apple-aspen-config", f"content type {ctype}")
profile = plistlib.loads(body)
check(profile["PayloadType"] == "Configuration", "PayloadType")
check(profile["PayloadVersion"] == 1, "PayloadVersion")
mail = profile["PayloadContent"][0]
check(mail["PayloadType"] == "com.apple.mail.managed", "mail payload")
check(mail["EmailAddress"] == "alice@example.org", "EmailAddress")
check(mail["EmailAccountType"] == "EmailTypeIMAP", "EmailAccountType")
check(mail["IncomingMailServerHostName"] == hostname, "incoming host")
check(mail["IncomingMailServerPortNumber"] == ports["imaps"], "incoming port")
check(mail["IncomingMailServerUseSSL"] is True, "incoming SSL")
check(mail["IncomingMailServerUsername"] == "alice@example.org", "incoming user")
check(mail["OutgoingMailServerHostName"] == hostname, "outgoing host")
check(mail["OutgoingMailServerPortNumber"] == ports["submissions"], "outgoing port")
check(mail["OutgoingMailServerUseSSL"] is True, "outgoing SSL")
check(len(mail["PayloadUUID"]) == 36 and profile["PayloadUUID"] != mail["PayloadUUID"], "UUIDs")
# CalDAV and CardDAV accounts on the https listener, at the principal.
cal, card = profile["PayloadContent"][1], profile["PayloadContent"][2]
check(cal["PayloadType"] == "com.apple.caldav.account", "caldav payload")
check(card["PayloadType"] == "com.apple.carddav.account", "carddav payload")
check(cal["CalDAVHostName"] == hostname and cal["CalDAVPort"] == ports["https"], "caldav host and port")
check(cal["CalDAVPrincipalURL"] == "/dav/principals/alice%40example.org/", cal["CalDAVPrincipalURL"])
check(card["CardDAVUsername"] == "alice@example.org" and card["CardDAVUseSSL"] is True, "carddav account")
status, _, _ = get("/apple/mobileconfig?email=a%40elsewhere.example", secure=True)
check(status == 404, f"mobileconfig unknown domain: {status}")
print("ok")
