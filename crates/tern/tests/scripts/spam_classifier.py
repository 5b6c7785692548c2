"""The built-in classifier end to end, as a user trains it: the generated
corpus (spam_corpus.py) is delivered over SMTP, 80 % of it is taught by
IMAP — spam moved into Junk, ham flagged — and the other 20 % is
delivered afterwards and judged. Prints "precision", "recall" and
"ham_in_junk" (a share of 1), and whether a forged `X-Spam-Status: No`
survived.

argv: smtp port, imaps port, user, password, tern binary, config path.
"""

import imaplib
import os
import re
import smtplib
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spam_corpus import corpus  # noqa: E402

SMTP, IMAPS, USER, PASSWORD, TERN, CONFIG = sys.argv[1:7]
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE

items = corpus(300, 300, USER)
train = [x for x in items if int(x[1][1:]) < 240]
test = [x for x in items if int(x[1][1:]) >= 240]


def send(batch, forge=False):
    s = smtplib.SMTP("127.0.0.1", int(SMTP), timeout=60)
    s.ehlo("mx.sender.example")
    for kind, ident, raw in batch:
        if forge and kind == "spam":
            raw = b"X-Spam-Status: No\r\nX-Spam-Score: -100\r\n" + raw
        sender = re.search(rb"From: .*<([^>]+)>", raw).group(1).decode()
        s.sendmail(sender, [USER], raw)
    s.quit()


def ids(imap, box):
    typ, _ = imap.select(box)
    assert typ == "OK", box
    typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (X-Corpus)])")
    out = {}
    for part in data:
        if isinstance(part, tuple):
            uid = re.search(rb"UID (\d+)", part[0]).group(1).decode()
            m = re.search(rb"X-Corpus: (\w+)", part[1])
            if m:
                out[m.group(1).decode()] = uid
    return out


def status():
    out = subprocess.run([TERN, "--config", CONFIG, "spam", "status", USER], capture_output=True, text=True, check=True).stdout
    m = re.search(r": (\d+) spam, (\d+) ham", out)
    return int(m.group(1)), int(m.group(2))


send(train)
imap = imaplib.IMAP4_SSL("127.0.0.1", int(IMAPS), ssl_context=TLS)
imap.login(USER, PASSWORD)
inbox = ids(imap, "INBOX")
assert len(inbox) == len(train), (len(inbox), len(train))
spam_uids = [uid for ident, uid in inbox.items() if ident.startswith("s")]
ham_uids = [uid for ident, uid in inbox.items() if ident.startswith("h")]
# Teach as a user does: spam into Junk, ham flagged.
typ, _ = imap.uid("MOVE", ",".join(spam_uids), "Junk")
assert typ == "OK"
typ, _ = imap.uid("STORE", ",".join(ham_uids), "+FLAGS.SILENT", "(\\Flagged)")
assert typ == "OK"
deadline = time.time() + 180
while status() != (240, 240):
    assert time.time() < deadline, status()
    time.sleep(0.5)
print("trained:", status(), flush=True)

send(test, forge=True)
junk = ids(imap, "Junk")
inbox = ids(imap, "INBOX")
test_spam = [i for k, i, _ in test if k == "spam"]
test_ham = [i for k, i, _ in test if k == "ham"]
tp = sum(1 for i in test_spam if i in junk)
fn = sum(1 for i in test_spam if i in inbox)
fp = sum(1 for i in test_ham if i in junk)
assert tp + fn == len(test_spam), (tp, fn)
precision = tp / (tp + fp) if tp + fp else 1.0
recall = tp / len(test_spam)
print("precision: %.3f" % precision)
print("recall: %.3f" % recall)
print("ham_in_junk: %.3f" % (fp / len(test_ham)))

# The forged fields are gone; the copy carries tern's own.
imap.select("Junk")
forged = next(i for i in test_spam if i in junk)
typ, data = imap.uid("FETCH", junk[forged], "(BODY.PEEK[HEADER])")
head = data[0][1].decode(errors="replace")
statuses = [l for l in head.split("\r\n") if l.lower().startswith("x-spam-status")]
print("forged_removed:", "X-Spam-Score: -100" not in head and len(statuses) == 1 and "tern-classifier" in statuses[0])
imap.logout()
