"""A generated corpus of spam-like and ham-like mail, the same on every run
(seeded). No public corpus ships in a Debian or PyPI package, so this one
is made from word lists: ham is work and family mail from a few people
with real variety (meetings, invoices that are real, a shop order, a
newsletter the user reads), spam is the usual offers, phishing and
advance-fee mail from throwaway domains. The two share many words
("offer", "account", "free", "today", "click", "invoice") so that no
single word decides.

`corpus(n_spam, n_ham)` returns [(kind, id, RFC 5322 bytes)], interleaved.
"""

import random

NEUTRAL = (
    "the and for you your with this that have from will are our please "
    "today week time also just about more here there thanks regards "
    "account offer free click invoice update information new latest "
    "best price order payment service team support message details"
).split()

HAM_SUBJECTS = [
    "Meeting notes from {day}",
    "Re: budget review for Q{q}",
    "Lunch on {day}?",
    "Invoice {n} for the design work",
    "Re: draft of the {thing} proposal",
    "Photos from the weekend",
    "Your order {n} has shipped",
    "Weekly newsletter: {thing} tips",
    "Re: flight times for {day}",
    "Agenda for the {thing} workshop",
    "Can you review the {thing} pull request",
    "Dinner with the family on {day}",
]
HAM_WORDS = (
    "meeting agenda minutes project deadline review draft attached notes "
    "budget quarter colleagues schedule calendar lunch dinner weekend family "
    "kids school garden holiday flight hotel booking itinerary pull request "
    "branch release tests deploy server database migration feedback proposal "
    "client contract design mockups slides presentation workshop library "
    "recipe birthday grandma soccer practice dentist appointment shipped "
    "tracking parcel delivered newsletter article chapter book conference"
).split()
HAM_PEOPLE = [
    ("Anna Schmidt", "anna@partner.example"),
    ("Ben Okafor", "ben.okafor@colleague.example"),
    ("Mum", "mum@family.example"),
    ("Dev Team", "dev@lists.project.example"),
    ("Shop", "orders@shop.example"),
    ("Carla Ruiz", "carla@studio.example"),
    ("Weekly Digest", "digest@news.example"),
]

SPAM_SUBJECTS = [
    "URGENT: your account will be suspended",
    "You have WON a {prize}!!!",
    "Cheap {drug} without prescription",
    "Make ${n} a day working from home",
    "Re: your invoice {n} is overdue - click now",
    "Exclusive offer just for you: {pct}% off",
    "Verify your password immediately",
    "Hot singles in your area",
    "Business proposal from the desk of Dr. {name}",
    "Your parcel could not be delivered - confirm details",
    "Lowest price on {drug} guaranteed",
    "Act now: limited time investment opportunity",
]
SPAM_WORDS = (
    "winner prize claim guaranteed risk-free viagra cialis pharmacy pills "
    "prescription casino bonus jackpot lottery million dollars transfer "
    "beneficiary inheritance barrister urgent immediately suspended verify "
    "password login confirm bank wire bitcoin crypto investment profit "
    "unsubscribe limited exclusive cheap discount lowest congratulations "
    "selected singles dating weight loss miracle cure refinance mortgage "
    "loan approved credit score earn cash fast easy"
).split()
SPAM_TLDS = ["xyz", "top", "click", "win", "loan", "work", "bid"]


def fill(rng, template):
    return template.format(
        day=rng.choice(["Monday", "Tuesday", "Friday", "Sunday"]),
        q=rng.randint(1, 4),
        n=rng.randint(1000, 99999),
        thing=rng.choice(["website", "budget", "garden", "API", "kitchen"]),
        prize=rng.choice(["iPhone", "car", "cruise", "gift card"]),
        drug=rng.choice(["pills", "meds", "viagra"]),
        pct=rng.choice([50, 70, 90]),
        name=rng.choice(["James Brown", "Ibrahim Musa", "Grace Lee"]),
    )


def body(rng, words, n):
    out = []
    for _ in range(n):
        pool = words if rng.random() < 0.55 else NEUTRAL
        out.append(rng.choice(pool))
    lines = [" ".join(out[i:i + 12]) for i in range(0, len(out), 12)]
    return "\r\n".join(lines)


def ham(rng, i, to):
    name, addr = rng.choice(HAM_PEOPLE)
    subject = fill(rng, rng.choice(HAM_SUBJECTS))
    text = body(rng, HAM_WORDS, rng.randint(40, 160))
    if rng.random() < 0.3:
        text += "\r\n\r\nThe link: https://docs.%s/%d" % (addr.split("@")[1], i)
    return (
        f"From: {name} <{addr}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <ham{i}@corpus.example>\r\nX-Corpus: h{i}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    ).encode()


def spam(rng, i, to):
    dom = "%s%d.%s" % (rng.choice(["promo", "deals", "secure", "mail", "win"]), rng.randint(1, 999), rng.choice(SPAM_TLDS))
    subject = fill(rng, rng.choice(SPAM_SUBJECTS))
    text = body(rng, SPAM_WORDS, rng.randint(30, 120))
    link = "https://%s/%s?id=%d" % (dom, rng.choice(["claim", "verify", "buy", "login"]), i)
    html = rng.random() < 0.5
    if html:
        content = (
            "Content-Type: text/html; charset=utf-8\r\n\r\n"
            f"<html><body><p><b>{subject}</b></p><p>{text}</p>"
            f"<p><a href=\"{link}\">CLICK HERE</a> {link}</p></body></html>\r\n"
        )
    else:
        content = f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\n{link}\r\n"
    sender = rng.choice(["Support", "Prize Center", "Pharmacy", "Dr. Musa", "Bank Security"])
    return (
        f"From: {sender} <{rng.choice(['info', 'noreply', 'alert'])}@{dom}>\r\n"
        f"To: <{to}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <spam{i}@{dom}>\r\nX-Corpus: s{i}\r\n{content}"
    ).encode()


def corpus(n_spam, n_ham, to, seed=22):
    rng = random.Random(seed)
    items = [("spam", f"s{i}", spam(rng, i, to)) for i in range(n_spam)]
    items += [("ham", f"h{i}", ham(rng, i, to)) for i in range(n_ham)]
    rng.shuffle(items)
    return items
