#!/usr/bin/env python3
"""What bench/spam-classify and `SPAM=1 bench/smtp-accept` share.

  spam_bench.py train TERN CONFIG USER
      Teach USER's classifier the tests' generated corpus (300 spam, 300
      ham, crates/tern/tests/scripts/spam_corpus.py) with `tern spam
      train`, enough of both kinds for it to judge every message after.
  spam_bench.py classify HTTP_PORT
      Print "COUNT P50_MS P90_MS": how many classifications the server
      timed and their median and 90th percentile, interpolated within the
      buckets of tern_spam_classify_duration_seconds on /metrics.
"""
import os
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "crates", "tern", "tests", "scripts"))


def train(tern, config, user):
    from spam_corpus import corpus
    with tempfile.TemporaryDirectory() as work:
        for kind in ("spam", "ham"):
            path = os.path.join(work, f"{kind}.mbox")
            with open(path, "wb") as f:
                for k, _, raw in corpus(300, 300, user):
                    if k == kind:
                        f.write(b"From " + user.encode() + b" Mon Nov 30 12:00:00 2026\n")
                        f.write(raw.replace(b"\r\n", b"\n") + b"\n")
            out = subprocess.run([tern, "--config", config, "spam", "train", user, f"--{kind}", path],
                                 check=True, capture_output=True, text=True)
            print(out.stdout.strip().splitlines()[-1])


def classify(http):
    text = urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=30).read().decode()
    buckets = []
    for line in text.splitlines():
        if line.startswith("tern_spam_classify_duration_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
    total = buckets[-1][1] if buckets else 0

    def pct(q):
        prev_le, prev_c = 0.0, 0.0
        for le, c in buckets:
            if c >= q * total:
                if le == float("inf"):
                    return prev_le
                return prev_le + (le - prev_le) * ((q * total - prev_c) / max(c - prev_c, 1))
            prev_le, prev_c = le, c
        return 0.0

    print(f"{total:.0f} {pct(0.5) * 1000:.3f} {pct(0.9) * 1000:.3f}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "train":
        train(*sys.argv[2:5])
    elif len(sys.argv) == 3 and sys.argv[1] == "classify":
        classify(sys.argv[2])
    else:
        sys.exit(__doc__)
