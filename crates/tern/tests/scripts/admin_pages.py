"""What the web admin's browser scripts (admin_browser.py, admin_actions.py)
share: the TLS context for tern's self-signed certificate, the two screen
sizes, screenshots that also check a page fits a 360-px phone, signing in,
and Debian's chromium without a sandbox."""

import ssl

TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


def say(*a):
    print(*a, flush=True)


def shoot(page, shots, name):
    """Desktop and phone screenshots into `shots`; at phone width nothing
    may be wider than the screen."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=f"{shots}/{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"] + 2, f"{name}: {wide} px wide at 360 px"
    page.screenshot(path=f"{shots}/{name}-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def sign_in(page, base, user, password):
    page.goto(f"{base}/account/login")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def launch(playwright):
    return playwright.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
