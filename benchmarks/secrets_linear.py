"""Time the secret detector and the redaction on strings up to 10 MB: the growth must be linear.

    python benchmarks/secrets_linear.py [--max-mb 10] [--repeat 3] [--old]

For each input shape (the ones that made the former backtracking patterns quadratic, plus realistic
long values: base64 blobs, long URLs with many parameters, JSON text, a log excerpt) and each size
(10 KB, 100 KB, 1 MB, 10 MB), prints the best of ``--repeat`` times of ``secret_kinds`` and of
``redact_text`` and the time per character. Exits 1 when any shape's time per character at the
largest size is more than 3 times its time per character at the size before (quadratic growth shows
as x10 per decade; linear as a flat column).

``--old`` also times the detector as it was before issue 18 (commit db2ac6f) on the same shapes at
10, 20 and 40 KB, to show what the rewrite removed: its time per character grows with the size.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.redaction import redact_text
from auditor.secrets import secret_kinds

KB = 1000
GROWTH_LIMIT = 3.0
FLOOR = 0.05  # seconds at the largest size: below that the whole run is memory bandwidth, and a ratio noise

# The detector before issue 18, verbatim, with its needle prefilter (tests/core/test_secrets.py proves that the
# new one decides the same).
_OLD = [(re.compile(p, f), needles) for p, f, needles in (
    (r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----", 0, ("private key-----",)),
    (r"(?:^|;)\s*AccountKey\s*=\s*[A-Za-z0-9+/=]{20,}", re.I, ("accountkey",)),
    (r"(?:^|;)\s*(?:Password|Pwd)\s*=\s*[^;]+", re.I, ("password", "pwd")),
    (r"(?:^|;)\s*SharedAccessKey\s*=\s*[^;]+", re.I, ("sharedaccesskey",)),
    (r"(?:^|[?&])sig=[A-Za-z0-9%+/=]{16,}", re.I, ("sig=",)),
    (r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", 0, ("@",)),
    (r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0, ("eyj",)),
    (r"\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*", re.I, ("bearer",)),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0, ("akia", "asia")),
    (r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", 0, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    (r"\bsk-[A-Za-z0-9_-]{20,}\b", 0, ("sk-",)),
)]


def old_kinds(text: str) -> int:
    lower = text.strip().lower()
    return sum(1 for pattern, needles in _OLD if any(n in lower for n in needles) and pattern.search(text.strip()))


def shapes() -> dict[str, Callable[[int], str]]:
    rng = random.Random(18)
    blob = base64.b64encode(rng.randbytes(8 * 1024 * 1024)).decode()
    return {
        "letters then @": lambda n: "a" * n + "@",
        "scheme runs": lambda n: "ab+1." * (n // 5) + "://u@",
        "user runs": lambda n: "a://" + "u" * n + ":@",
        "password runs": lambda n: "a://u:" + "p:" * (n // 2) + "/@",
        "jwt starts": lambda n: "eyJ-" * (n // 4),
        "jwt segments": lambda n: ("eyJ" + "a" * 8 + ".") * (n // 12),
        "bearer": lambda n: "bearer " * (n // 7),
        "sk starts": lambda n: "sk-" * (n // 3) + "\u00e9",
        "github": lambda n: ("ghp_" + "a" * 35) * (n // 39),
        "passwords": lambda n: ";Password" * (n // 9),
        "account keys": lambda n: (";AccountKey=" + "A" * 19) * (n // 31),
        "signatures": lambda n: "&sig=" * (n // 5),
        "spaces then @": lambda n: " " * n + "@",
        "base64 blob": lambda n: (blob * (1 + n // len(blob)))[:n],
        "long url": lambda n: "https://gw.example.com/score?api-version=1" + "&code=Zm9vYmFy&x=1" * (n // 18),
        "json text": lambda n: json.dumps([{"name": f"n{i}", "value": "user@example.com"} for i in range(n // 44)]),
        "log excerpt": lambda n: ("2024-01-01 INFO GET https://h/x?q=1 user=a@b.c token=eyJhbGciOi\n" * (n // 64)),
    }


def best(fn: Callable[[str], object], value: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn(value)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-mb", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old", action="store_true", help="also time the pre-issue-18 patterns at 10-40 KB")
    args = parser.parse_args()
    sizes = [s for s in (10 * KB, 100 * KB, 1000 * KB, 10_000 * KB) if s <= args.max_mb * 1000 * KB]
    header = "".join(f"{f'{s // KB:,} KB':>22}" for s in sizes)
    print(f"{'shape':<16}{'':>8}{header}")
    failed: list[str] = []
    for name, make in shapes().items():
        values = {size: make(size) for size in sizes}
        for label, fn in (("detect", secret_kinds), ("redact", redact_text)):
            times = {size: best(fn, value, args.repeat) for size, value in values.items()}
            cells = "".join(f"{times[s]:>10.4f} s {times[s] / len(values[s]) * 1e9:>6.1f} ns/c" for s in sizes)
            print(f"{name:<16}{label:>8}{cells}")
            largest, reference = sizes[-1], sizes[-2] if len(sizes) > 1 else sizes[-1]
            per_char = {s: times[s] / len(values[s]) for s in (largest, reference)}
            if times[largest] > FLOOR and per_char[largest] > GROWTH_LIMIT * per_char[reference]:
                failed.append(f"{name} ({label})")
    if args.old:
        print("\nbefore issue 18 (backtracking patterns):")
        for name, make in shapes().items():
            columns = []
            for size in (10 * KB, 20 * KB, 40 * KB):
                value = make(size)
                elapsed = best(old_kinds, value, 1)
                columns.append(f"{size // KB:>3} KB {elapsed:>8.3f} s {elapsed / len(value) * 1e9:>8.1f} ns/c")
            print(f"{name:<16}  " + "   ".join(columns))
    if failed:
        print(f"\nsuper-linear growth: {', '.join(failed)}")
        return 1
    print(f"\nlinear: every shape's time per character at {sizes[-1] // KB:,} KB is within "
          f"{GROWTH_LIMIT:g}x of its time per character at {sizes[-2 if len(sizes) > 1 else -1] // KB:,} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
