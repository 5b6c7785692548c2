"""The web admin in a real browser (Debian's chromium driven by Playwright):
sign in as the quickstart admin, enrol TOTP, sign in with password + TOTP
and with a recovery code (used once only), add a domain and a user through
the forms and log in as that user over IMAP, watch the DNS check go from
missing to published for the DKIM record, retry a queued message, get a
Sieve compile error at its line, and take screenshots of every page at
desktop and phone width. Every page must fit a 360-px screen without
sideways scrolling.

argv: base URL, admin address, admin password, imaps port, submission
port, screenshot directory. The test serves DNS: for a record it asks for
this script prints `NEED name<TAB>text` and waits for a line on stdin.
"""

import imaplib
import os
import re
import smtplib
import sys
import time

import pyotp
from playwright.sync_api import sync_playwright

import admin_pages as pages
from admin_pages import DESKTOP, TLS, say

BASE, ADMIN, ADMIN_PW, IMAPS, SUBMISSION, SHOTS, PLAIN = sys.argv[1:8]
os.makedirs(SHOTS, exist_ok=True)


def shoot(page, name):
    pages.shoot(page, SHOTS, name)


def sign_in(page, user, password):
    pages.sign_in(page, BASE, user, password)


def log_out(page):
    page.click("form.who button")
    page.wait_for_url(re.compile(r".*/account/login.*"))


def code_step(page, code):
    page.wait_for_url(re.compile(r".*/account/login/code.*"))
    page.fill("input[name=code]", code)
    page.click("main button[type=submit]")


def csrf_post(page, form_action, button_text=None):
    sel = f"form[action='{form_action}'] button"
    if button_text:
        sel = f"form[action='{form_action}'] button:has-text('{button_text}')"
    page.click(sel)


with sync_playwright() as p:
    browser = pages.launch(p)
    ctx = browser.new_context(ignore_https_errors=True, viewport=DESKTOP)
    page = ctx.new_page()

    # --- Sign in as the quickstart admin; /admin leads to the login page.
    page.goto(f"{BASE}/admin")
    assert "/account/login" in page.url, page.url
    shoot(page, "login")
    page.fill("input[name=user]", ADMIN)
    page.fill("input[name=password]", ADMIN_PW)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{BASE}/admin", (page.url, page.content())
    assert page.inner_text("h1") == "Dashboard"
    shoot(page, "dashboard")

    # --- Enrol TOTP: QR code and secret, one code confirms, 10 recovery codes.
    page.goto(f"{BASE}/account")
    shoot(page, "account")
    csrf_post(page, "/account/totp/begin")
    assert page.locator(".qr svg").count() == 1, "a QR code is shown"
    secret = page.inner_text("#totp-secret").strip()
    totp = pyotp.TOTP(secret)
    shoot(page, "totp")
    page.fill("input[name=code]", totp.now())
    page.click("form[action='/account/totp/confirm'] button")
    codes = [c.strip() for c in page.locator("#recovery-codes li").all_inner_texts()]
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    shoot(page, "recovery-codes")
    say("enrolled", len(codes))

    # --- Out, and in with password + TOTP. The enrolment's code may not be
    # used again (RFC 6238 5.2): the next step's code is (one step of skew).
    log_out(page)
    sign_in(page, ADMIN, ADMIN_PW)
    shoot(page, "second-step")
    code_step(page, totp.at(time.time() + 30))
    page.wait_for_url(f"{BASE}/admin")
    say("totp login ok")

    # --- Out, and in with a recovery code; then that code no longer works.
    log_out(page)
    sign_in(page, ADMIN, ADMIN_PW)
    code_step(page, codes[0])
    page.wait_for_url(f"{BASE}/admin")
    log_out(page)
    sign_in(page, ADMIN, ADMIN_PW)
    code_step(page, codes[0])
    assert "/account/login/code" in page.url, page.url
    assert "not right" in page.inner_text(".error"), page.content()
    code_step(page, codes[1].upper().replace("-", " "))
    page.wait_for_url(f"{BASE}/admin")
    say("recovery code used once")

    # --- Add a domain through the form: the DKIM records are missing in DNS.
    page.goto(f"{BASE}/admin/domains")
    page.fill("form[action='/admin/domains'] input[name=name]", "shop.example")
    page.click("form[action='/admin/domains'] button")
    assert page.inner_text("h1") == "Domain shop.example", page.inner_text("h1")
    dkim_rows = page.locator("#dns tbody tr", has_text="_domainkey.shop.example.")
    assert dkim_rows.count() == 2, dkim_rows.count()
    wanted = []
    for i in range(dkim_rows.count()):
        row = dkim_rows.nth(i)
        assert "dns-bad" in row.get_attribute("class"), row.inner_html()
        assert "not published" in row.inner_text(), row.inner_text()
        cells = row.locator("td").all_inner_texts()
        name, value = cells[1].strip(), cells[3].strip()
        text = "".join(re.findall(r'"([^"]*)"', value))
        wanted.append((name, text))
    shoot(page, "domain-missing-dkim")
    for name, text in wanted:
        say(f"NEED {name}\t{text}")
    assert sys.stdin.readline().strip() == "OK"
    page.click("text=Check again")
    dkim_rows = page.locator("#dns tbody tr", has_text="_domainkey.shop.example.")
    for i in range(dkim_rows.count()):
        row = dkim_rows.nth(i)
        assert "dns-ok" in row.get_attribute("class"), row.inner_html()
        assert "✓" in row.inner_text()
    # Greylisting on for this domain alone, with its own delay.
    page.select_option("select[name=greylist]", "on")
    page.fill("input[name=greylist_delay]", "120")
    page.click("form[action='/admin/domains/policy'] button")
    policy = page.inner_text("#policy")
    assert "Greylisting: on, first-time senders wait 120 s" in policy, policy
    assert "Tarpitting: on" in policy and "(as configured)" in policy, policy
    shoot(page, "domain")
    page.goto(f"{BASE}/admin/domains")
    shoot(page, "domains")
    say("dns check ok")

    # --- Add a user through the form; it logs in over IMAP.
    page.goto(f"{BASE}/admin/users")
    form = "form[method=post][action='/admin/users']"
    page.fill(f"{form} input[name=address]", "bob@shop.example")
    page.fill(f"{form} input[name=password]", "Bob-Strong-Pass-42!")
    page.click(f"{form} button")
    said = page.locator("main p.notice, main p.error").first.inner_text()
    assert "bob@shop.example added" in said, said
    shoot(page, "users")
    imap = imaplib.IMAP4_SSL("127.0.0.1", int(IMAPS), ssl_context=TLS)
    typ, _ = imap.login("bob@shop.example", "Bob-Strong-Pass-42!")
    assert typ == "OK"
    imap.logout()
    page.click("table a:has-text('bob@shop.example')")
    page.wait_for_url(re.compile(r".*/admin/users/view.*"))
    assert page.inner_text("h1") == "bob@shop.example", page.inner_text("h1")
    shoot(page, "user")
    say("user added, imap login ok")

    # --- Aliases.
    page.goto(f"{BASE}/admin/aliases")
    form = "form[action='/admin/aliases']"
    page.fill(f"{form} input[name=address]", "sales@shop.example")
    page.fill(f"{form} input[name=targets]", "bob@shop.example")
    page.click(f"{form} button")
    assert "sales@shop.example" in page.inner_text("table")
    shoot(page, "aliases")

    # --- A message that cannot be delivered yet waits in the queue; retry it.
    s = smtplib.SMTP("127.0.0.1", int(SUBMISSION), timeout=30)
    s.starttls(context=TLS)
    s.login(ADMIN, ADMIN_PW)
    s.sendmail(
        ADMIN,
        ["someone@remote.example"],
        f"From: {ADMIN}\r\nTo: someone@remote.example\r\nSubject: queued\r\n\r\nhello\r\n",
    )
    # And one delivered here, which the dashboard counts as received.
    s.sendmail(
        ADMIN,
        ["bob@shop.example"],
        f"From: {ADMIN}\r\nTo: bob@shop.example\r\nSubject: local\r\n\r\nhello\r\n",
    )
    s.quit()
    row = None
    for _ in range(60):
        page.goto(f"{BASE}/admin/queue")
        links = page.locator("table a")
        if links.count() > 0:
            row = links.first
            break
        time.sleep(0.5)
    assert row is not None, "the message reached the queue"
    shoot(page, "queue")
    row.click()

    def attempts():
        cells = page.locator("table").nth(1).locator("tbody tr td").all_inner_texts()
        return int(cells[2])

    # The first attempt fails (nobody listens): wait for it.
    for _ in range(60):
        if attempts() >= 1:
            break
        time.sleep(0.5)
        page.reload()
    before = attempts()
    assert before >= 1, before
    shoot(page, "queue-item")
    page.click("form[action='/admin/queue/retry'] button")
    assert "will be tried now" in page.inner_text(".notice"), page.content()
    after = before
    for _ in range(60):
        page.reload()
        after = attempts()
        if after > before:
            break
        time.sleep(0.5)
    assert after > before, (before, after)
    say("queue retry ok", before, after)

    # --- The dashboard counts today's mail (handed to the store every 10 s)
    # and the queue.
    received = 0
    for _ in range(60):
        page.goto(f"{BASE}/admin")
        received = int(page.inner_text("#received"))
        if received >= 1:
            break
        time.sleep(0.5)
    assert received >= 1, received
    assert int(page.inner_text("#queue-depth")) >= 1
    shoot(page, "dashboard-busy")
    say("dashboard counts ok")

    # --- Audit log and settings.
    page.goto(f"{BASE}/admin/audit?kind=login")
    assert "login" in page.inner_text("table")
    shoot(page, "audit")
    page.goto(f"{BASE}/admin/settings")
    assert "tern.toml" in page.inner_text("main")
    shoot(page, "settings")

    # --- Sieve: a compile error is shown at its line; a good script saves.
    page.goto(f"{BASE}/account/sieve")
    page.fill("input[name=name]", "filters")
    page.fill(
        "textarea[name=script]",
        'require "fileinto";\nif header :contains "subject" "x" {\n  fileinto "Junk"\n}\n',
    )
    page.click("main form button")
    err = page.inner_text(".error")
    assert err.startswith("Line 4"), err
    assert page.locator("pre.script .at").count() == 1
    shoot(page, "sieve-error")
    page.fill(
        "textarea[name=script]",
        'require "fileinto";\nif header :contains "subject" "x" {\n  fileinto "Junk";\n}\n',
    )
    page.check("input[name=activate]")
    page.click("main form button")
    assert "Script saved" in page.inner_text(".notice"), page.content()
    assert "active" in page.inner_text("main")
    say("sieve ok")

    # --- Recent logins on the account page name the protocol.
    page.goto(f"{BASE}/account")
    logins = page.locator("h2:has-text('Recent logins') + table").inner_text()
    assert "web" in logins and "127.0.0.1" in logins, logins
    shoot(page, "account-after")

    # --- Through an SSH tunnel the pages come over plain http from
    # loopback: the browser keeps the Secure cookie for 127.0.0.1 (a
    # potentially trustworthy origin) and the whole sign-in works.
    tunnel = browser.new_context(viewport=DESKTOP).new_page()
    tunnel.goto(f"{PLAIN}/admin")
    assert "/account/login" in tunnel.url, tunnel.url
    tunnel.fill("input[name=user]", ADMIN)
    tunnel.fill("input[name=password]", ADMIN_PW)
    tunnel.click("button[type=submit]")
    tunnel.wait_for_url(re.compile(r".*/account/login/code.*"))
    tunnel.fill("input[name=code]", codes[2])
    tunnel.click("main button[type=submit]")
    tunnel.wait_for_load_state()
    assert tunnel.url == f"{PLAIN}/admin", tunnel.url
    assert tunnel.inner_text("h1") == "Dashboard"
    say("plain http on loopback ok")

    browser.close()
    say("done")
