# A QRESYNC client that cached the mailbox (args: UIDVALIDITY and
# HIGHESTMODSEQ it knew) reconnects: print what the server tells it to
# update — the UIDs of FETCH responses and the VANISHED sets.
import re
uidvalidity, modseq = args[0], args[1]
m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
m.login(user, password)
m._simple_command("ENABLE", "QRESYNC")
typ, data = m._simple_command("SELECT", "INBOX", "(QRESYNC (%s %s))" % (uidvalidity, modseq))
assert typ == "OK", data
for name in ("FETCH", "VANISHED"):
    for item in m.untagged_responses.get(name, []):
        text = item.decode() if isinstance(item, bytes) else str(item)
        print(name, text)
m.logout()
