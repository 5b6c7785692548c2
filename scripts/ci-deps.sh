#!/usr/bin/env bash
# Installs what tern's tests need on a Debian machine and makes sure PostgreSQL
# is running on 127.0.0.1:5432. Idempotent: safe to run again.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

# Debian packages the tests drive: PostgreSQL for the store suite, real
# clients nobody here wrote for the end-to-end tests, promtool (prometheus)
# to check /metrics, pebble (pebble, pebble-challtestsrv) as the ACME CA,
# dovecot-sieve for Pigeonhole's sieve-test (crates/filter/tests/pigeonhole.rs),
# chromium for the web admin's browser test (driven by Playwright; no
# browser is downloaded), rspamd and redis-server (its Bayes store) for the
# spam filter's tests (crates/tern/tests/spam_rspamd.rs).
PKGS=(postgresql postgresql-client swaks python3 python3-dkim python3-authres fetchmail isync postfix curl openssl systemd prometheus srs sieve-connect pebble dovecot-sieve chromium rspamd redis-server)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "ci-deps: installing ${missing[*]}"
  echo "postfix postfix/main_mailer_type select Local only" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PyPI clients the end-to-end tests drive, into the `python3` on PATH (the
# pyenv interpreter; Debian's Python modules stay with /usr/bin/python3).
# Each entry is `module` or `module:package` (a name or a pinned spec):
# the DAV clients are pinned to the versions the tests were written against;
# Playwright drives Debian's chromium (its own browsers are never installed),
# pyotp computes TOTP codes, requests posts the admin's forms; parsedmarc
# (offline) reads tern's DMARC and TLS reports, lxml checks the RFC 7489 schema.
PIP_PKGS=(imapclient openapi_spec_validator:openapi-spec-validator sievelib:sievelib vdirsyncer:vdirsyncer==0.21.0 khal:khal==0.14.1 khard:khard==0.22.0 caldav:caldav==3.6.0 playwright:playwright==1.65.2 pyotp:pyotp==2.12.1 requests:requests parsedmarc:parsedmarc==11.1.0 lxml:lxml)
for entry in "${PIP_PKGS[@]}"; do
  module="${entry%%:*}"
  package="${entry#*:}"
  if ! python3 -c "import $module" 2>/dev/null; then
    echo "ci-deps: pip installing $package"
    python3 -m pip install --quiet --disable-pip-version-check "$package"
  fi
done

# Rust components the test command uses.
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# PostgreSQL: start the Debian cluster if it is down; make sure the test role
# can connect over TCP on 127.0.0.1 with a password.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  ver=$(ls /usr/lib/postgresql | sort -V | tail -n1)
  if ! pg_lsclusters -h 2>/dev/null | grep -q "^$ver main"; then
    $SUDO pg_createcluster "$ver" main >/dev/null
  fi
  $SUDO pg_ctlcluster "$ver" main start || true
  for _ in $(seq 1 60); do
    pg_isready -h 127.0.0.1 -p 5432 -q && break
    sleep 0.5
  done
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "ci-deps: PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }

# The role the tests use (see TERN_TEST_PG in README): may create databases.
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='tern'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE tern LOGIN CREATEDB PASSWORD 'tern'\""
echo "ci-deps: ok"
