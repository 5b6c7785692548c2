"""Every form of the web admin's user, domain, queue and audit pages, and of
the self-service page, in a real browser (Debian's chromium driven by
Playwright), each checked by what it changed where it matters: IMAP logins
with imaplib, the pages a user may open, the queue, the lists.

An admin (root) and a user (bob) work side by side, each in a browser
context of their own. Screenshots at desktop and phone width: the user
page, the confirmation page, the 403 page and the reports page.

argv: https base URL, imaps port, submission port, screenshot directory.
Accounts: root@example.org (admin) and bob@example.org (user); the domain
gone.example exists with no accounts.
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

BASE, IMAPS, SUBMISSION, SHOTS = sys.argv[1:5]
ROOT = ("root@example.org", "Root-Strong-Pass-1!")
BOB = "bob@example.org"
os.makedirs(SHOTS, exist_ok=True)


def shoot(page, name):
    pages.shoot(page, SHOTS, name)


def imap_ok(user, password):
    """Does an IMAP login with these credentials succeed?"""
    imap = imaplib.IMAP4_SSL("127.0.0.1", int(IMAPS), ssl_context=TLS, timeout=30)
    try:
        imap.login(user, password)
    except imaplib.IMAP4.error:
        return False
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return True


def sign_in(page, user, password):
    pages.sign_in(page, BASE, user, password)


def notice(page):
    return page.locator("main p.notice, main p.error").first.inner_text()


def table_row(page, text):
    return page.locator(f"main table tr:has-text('{text}')")


def user_page(page):
    page.goto(f"{BASE}/admin/users")
    page.click(f"table a:has-text('{BOB}')")
    page.wait_for_url(re.compile(r".*/admin/users/view.*"))
    assert page.inner_text("h1") == BOB, page.inner_text("h1")


def facts(page):
    """The user page's first table: heading → value."""
    rows = page.locator("main table").first.locator("tr")
    return {
        rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").inner_text()
        for i in range(rows.count())
    }


with sync_playwright() as p:
    browser = pages.launch(p)
    admin = browser.new_context(ignore_https_errors=True, viewport=DESKTOP).new_page()
    sign_in(admin, *ROOT)
    assert admin.url == f"{BASE}/admin", admin.url

    # --- Reset bob's password to a chosen one: the new one logs in over
    # IMAP, nothing else does.
    user_page(admin)
    shoot(admin, "user")
    admin.fill("form[action='/admin/users/password'] input[name=password]", "Bob-Chosen-Pass-11!")
    admin.click("form[action='/admin/users/password'] button")
    assert "Password changed" in notice(admin), notice(admin)
    assert imap_ok(BOB, "Bob-Chosen-Pass-11!")
    assert not imap_ok(BOB, "Bob-Strong-Pass-2!")
    # Empty: one is made and shown once.
    admin.click("form[action='/admin/users/password'] button")
    made = admin.inner_text("#new-password").strip()
    assert len(made) >= 12, made
    assert imap_ok(BOB, made)
    assert not imap_ok(BOB, "Bob-Chosen-Pass-11!")
    bob_pw = made
    say("password reset ok")

    # --- Quota: shown with the use, here and on bob's own page.
    admin.fill("form[action='/admin/users/quota'] input[name=quota_mib]", "5")
    admin.click("form[action='/admin/users/quota'] button")
    assert notice(admin) == "Quota set.", notice(admin)
    assert "of 5.0 MiB" in facts(admin)["Mailbox use"] or "of 5 MiB" in facts(admin)["Mailbox use"], facts(admin)
    bob = browser.new_context(ignore_https_errors=True, viewport=DESKTOP).new_page()
    sign_in(bob, BOB, bob_pw)
    assert bob.url == f"{BASE}/account", bob.url
    use = bob.locator(".card:has-text('Mailbox use') b").inner_text()
    assert "5" in use and "MiB" in use and "%" in use, use
    say("quota ok", use)

    # --- The admin role: bob gets /admin while he has it, 403 after.
    bob.goto(f"{BASE}/admin")
    assert bob.inner_text("h1") != "Dashboard"
    shoot(bob, "forbidden")
    admin.click("form[action='/admin/users/admin'] button")
    assert notice(admin) == "Now an administrator.", notice(admin)
    assert facts(admin)["Role"] == "administrator"
    bob.goto(f"{BASE}/admin")
    assert bob.inner_text("h1") == "Dashboard", bob.inner_text("h1")
    admin.click("form[action='/admin/users/admin'] button")
    assert notice(admin) == "No longer an administrator.", notice(admin)
    # Taking the role ends his web sessions at once; signed in again, he
    # gets 403.
    bob.goto(f"{BASE}/admin")
    assert "/account/login" in bob.url, bob.url
    sign_in(bob, BOB, bob_pw)
    resp = bob.goto(f"{BASE}/admin")
    assert resp.status == 403, resp.status
    say("admin role ok")

    # --- Disable: no IMAP login; enable: the login works again.
    admin.click("form[action='/admin/users/disable'] button")
    assert notice(admin).startswith("Disabled"), notice(admin)
    assert facts(admin)["State"] == "disabled"
    assert not imap_ok(BOB, bob_pw)
    admin.click("form[action='/admin/users/disable'] button")
    assert notice(admin) == "Enabled.", notice(admin)
    assert imap_ok(BOB, bob_pw)
    # Disabling ended his web session too.
    bob.goto(f"{BASE}/account")
    assert "/account/login" in bob.url, bob.url
    sign_in(bob, BOB, bob_pw)
    assert bob.url == f"{BASE}/account", bob.url
    say("disable ok")

    # --- Bob makes an app password (its name is hostile markup), logs in
    # with it over IMAP; his recent logins name it; the admin sees it
    # escaped and revokes it; it no longer logs in.
    bob.goto(f"{BASE}/account")
    bob.fill("form[action='/account/app-passwords'] input[name=name]", "<b>phone</b>")
    bob.click("form[action='/account/app-passwords'] button")
    app = bob.inner_text("#app-password").strip()
    assert imap_ok(BOB, app)
    seen = ""
    for _ in range(60):
        bob.goto(f"{BASE}/account")
        seen = bob.locator("h2:has-text('Recent logins') + table").inner_text()
        if "imap" in seen.lower() and "<b>phone</b>" in seen:
            break
        time.sleep(0.5)
    assert "<b>phone</b>" in seen and "imap" in seen.lower(), seen
    user_page(admin)
    apps = admin.locator("h2:has-text('App passwords') + table").inner_text()
    assert "<b>phone</b>" in apps, apps
    assert "&lt;b&gt;phone&lt;/b&gt;" in admin.content()
    assert admin.locator("main table b:has-text('phone')").count() == 0, "markup was escaped"
    table_row(admin, "<b>phone</b>").locator("button").click()
    assert "revoked" in notice(admin).lower(), notice(admin)
    assert not imap_ok(BOB, app)
    assert imap_ok(BOB, bob_pw)
    say("app password ok")

    # --- Send-as: added, listed, removed.
    admin.fill("form[action='/admin/users/send-as'] input[name=target]", "shared@example.org")
    admin.click("form[action='/admin/users/send-as'] button")
    assert table_row(admin, "shared@example.org").count() == 1, admin.content()
    # Bob may now send as that address through submission.
    s = smtplib.SMTP("127.0.0.1", int(SUBMISSION), timeout=30)
    s.starttls(context=TLS)
    s.login(BOB, bob_pw)
    s.sendmail(
        "shared@example.org",
        [BOB],
        "From: shared@example.org\r\nTo: bob@example.org\r\nSubject: as shared\r\n\r\nhi\r\n",
    )
    table_row(admin, "shared@example.org").locator("button").click()
    assert table_row(admin, "shared@example.org").count() == 0, admin.content()
    try:
        s.sendmail(
            "shared@example.org",
            [BOB],
            "From: shared@example.org\r\nTo: bob@example.org\r\nSubject: again\r\n\r\nhi\r\n",
        )
        raise AssertionError("send-as was removed")
    except smtplib.SMTPException:
        pass
    s.quit()
    say("send-as ok")

    # --- Bob's own page: change the password (the right current one);
    # TOTP on, then off with the password; sign-in then needs no code.
    bob.goto(f"{BASE}/account")
    bob.fill("form[action='/account/password'] input[name=current]", bob_pw)
    bob.fill("form[action='/account/password'] input[name=new]", "Bob-Own-Pass-33!")
    bob.fill("form[action='/account/password'] input[name=confirm]", "Bob-Own-Pass-33!")
    bob.click("form[action='/account/password'] button")
    assert "Password changed" in notice(bob), notice(bob)
    assert imap_ok(BOB, "Bob-Own-Pass-33!")
    assert not imap_ok(BOB, bob_pw)
    bob_pw = "Bob-Own-Pass-33!"
    bob.click("form[action='/account/totp/begin'] button")
    secret = bob.inner_text("#totp-secret").strip()
    bob.fill("input[name=code]", pyotp.TOTP(secret).now())
    bob.click("form[action='/account/totp/confirm'] button")
    assert bob.locator("#recovery-codes").count() == 1, bob.content()
    bob.goto(f"{BASE}/account")
    bob.fill("form[action='/account/totp/remove'] input[name=password]", bob_pw)
    bob.click("form[action='/account/totp/remove'] button")
    assert notice(bob) == "Two-step sign-in is off.", notice(bob)
    fresh = browser.new_context(ignore_https_errors=True, viewport=DESKTOP).new_page()
    sign_in(fresh, BOB, bob_pw)
    assert fresh.url == f"{BASE}/account", ("no second step", fresh.url)
    fresh.context.close()
    # Revoking his own app password.
    bob.fill("form[action='/account/app-passwords'] input[name=name]", "laptop")
    bob.click("form[action='/account/app-passwords'] button")
    laptop = bob.inner_text("#app-password").strip()
    assert imap_ok(BOB, laptop)
    apps = "main table:has(th:has-text('Device')) tr:has-text('laptop')"
    bob.locator(apps).locator("button").click()
    assert bob.locator(apps).count() == 0, bob.content()
    assert not imap_ok(BOB, laptop)
    say("self-service ok")

    # --- The queue: a message nobody can take yet is removed.
    s = smtplib.SMTP("127.0.0.1", int(SUBMISSION), timeout=30)
    s.starttls(context=TLS)
    s.login(*ROOT)
    s.sendmail(
        ROOT[0],
        ["someone@remote.example"],
        f"From: {ROOT[0]}\r\nTo: someone@remote.example\r\nSubject: stuck\r\n\r\nhello\r\n",
    )
    s.quit()
    link = None
    for _ in range(60):
        admin.goto(f"{BASE}/admin/queue")
        if admin.locator("table a").count() > 0:
            link = admin.locator("table a").first
            break
        time.sleep(0.5)
    assert link is not None, "the message reached the queue"
    link.click()
    admin.click("form[action='/admin/queue/remove'] button")
    assert "removed" in notice(admin).lower(), notice(admin)
    assert admin.locator("table a").count() == 0, admin.content()
    say("queue remove ok")

    # --- Domains: a new DKIM key adds a row; a domain with no accounts
    # is removed after a confirmation.
    admin.goto(f"{BASE}/admin/domains/view?name=example.org")
    keys = admin.locator("h2:has-text('DKIM keys') + table tbody tr")
    before = keys.count()
    admin.select_option("form[action='/admin/domains/dkim'] select[name=algorithm]", "ed25519")
    admin.click("form[action='/admin/domains/dkim'] button")
    keys = admin.locator("h2:has-text('DKIM keys') + table tbody tr")
    assert keys.count() == before + 1, (before, keys.count())
    # The DNS table shows what DNS answers now next to what to publish.
    assert admin.locator("#dns th:has-text('DNS answers now')").count() == 1
    # Tarpitting off for this domain alone.
    admin.select_option("select[name=tarpit]", "off")
    admin.click("form[action='/admin/domains/policy'] button")
    assert "Tarpitting: off" in admin.inner_text("#policy"), admin.inner_text("#policy")
    admin.goto(f"{BASE}/admin/domains")
    table_row(admin, "gone.example").locator("button").click()
    assert "Remove the domain gone.example?" in admin.inner_text("main")
    shoot(admin, "confirm")
    admin.click("main form button.danger")
    assert notice(admin) == "Domain removed.", notice(admin)
    assert table_row(admin, "gone.example").count() == 0
    say("domains ok")

    # --- The audit log, filtered by account, address and day.
    admin.goto(f"{BASE}/admin/audit?account={BOB}")
    accounts = admin.locator("td[data-label=Account]").all_inner_texts()
    assert accounts and all(a == BOB for a in accounts), accounts
    admin.goto(f"{BASE}/admin/audit?ip=127.0.0.1")
    assert admin.locator("td[data-label=From]").count() > 0
    assert all(a == "127.0.0.1" for a in admin.locator("td[data-label=From]").all_inner_texts())
    admin.goto(f"{BASE}/admin/audit?ip=10.9.9.9")
    assert "No records" in admin.inner_text("main")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    admin.goto(f"{BASE}/admin/audit?since={today}&until={today}")
    assert admin.locator("td[data-label=When]").count() > 0
    admin.goto(f"{BASE}/admin/audit?since={tomorrow}")
    assert "No records" in admin.inner_text("main")
    say("audit filters ok")

    # --- The dashboard: an IMAP connection held open is counted, the
    # served certificate's expiry and the disk are shown, and the failed
    # logins of this run are among the recent security events.
    held = imaplib.IMAP4_SSL("127.0.0.1", int(IMAPS), ssl_context=TLS, timeout=30)
    admin.goto(f"{BASE}/admin")
    assert int(admin.inner_text("#connections")) >= 1, admin.inner_text("#connections")
    held.logout()
    cert = admin.inner_text("#certificate")
    assert "expires" in cert and "days" in cert, cert
    disk = admin.inner_text("#disk")
    assert "free of" in disk, disk
    events = admin.inner_text("#events")
    assert "login_failure" in events and BOB in events, events
    say("dashboard ok")

    # --- Reports (none yet).
    admin.goto(f"{BASE}/admin/reports")
    assert admin.inner_text("h1") == "Reports"
    shoot(admin, "reports")

    # --- Remove bob: a confirmation first, then no login and no row.
    user_page(admin)
    admin.click("form[action='/admin/users/remove'] button")
    assert "Remove" in admin.inner_text("h1"), admin.inner_text("h1")
    shoot(admin, "confirm-user")
    admin.click("main form button.danger")
    assert table_row(admin, BOB).count() == 0, admin.content()
    assert not imap_ok(BOB, bob_pw)
    bob.goto(f"{BASE}/account")
    assert "/account/login" in bob.url, ("his session ended with the account", bob.url)
    say("user removed ok")

    browser.close()
    say("done")
