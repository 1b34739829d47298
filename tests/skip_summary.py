"""At the end of every test run, loudly: which tests did not run, grouped by what they
lacked, and what makes them run. A green run with half the suite skipped must not pass for
a full one."""

import re
from collections import Counter, defaultdict

import pytest

# (what was missing, a reason matching it, how to get it), first match wins.
CAUSES = [
    (
        "browser (Chromium)",
        re.compile(r"chromium", re.IGNORECASE),
        "Debian/Ubuntu: `apt-get install chromium` (make test does it as root); elsewhere "
        "HEARTH_TEST_CHROMIUM=/path/to/chromium",
    ),
    (
        "PostgreSQL scale-out",
        re.compile(r"scale-out", re.IGNORECASE),
        "HEARTH_DATABASE_URL=postgresql+psycopg://user:pw@host/empty_db make test (.ci/run "
        "runs both passes)",
    ),
    (
        "Redis",
        re.compile(r"redis", re.IGNORECASE),
        "Debian/Ubuntu: `apt-get install redis-server` (make test does it as root)",
    ),
    (
        "espeak-ng",
        re.compile(r"espeak", re.IGNORECASE),
        "Debian/Ubuntu: `apt-get install espeak-ng` (make test does it as root)",
    ),
    (
        "container image",
        re.compile(r"container|image", re.IGNORECASE),
        "a container engine (Docker with its daemon, buildah or podman), then make image-check",
    ),
]


def _reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    # The outermost wrapper: printed after pytest's own summaries, right above the totals.
    result = yield
    _summarize_skips(terminalreporter)
    return result


def _summarize_skips(terminalreporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        terminalreporter.write_sep("=", "every collected test ran", green=True)
        return
    counts: Counter[str] = Counter()
    reasons: dict[str, set[str]] = defaultdict(set)
    remedies: dict[str, str] = {}
    for report in skipped:
        reason = _reason(report)
        cause = next(((c, how) for c, pattern, how in CAUSES if pattern.search(reason)), None)
        name, how = cause or ("other", "")
        counts[name] += 1
        reasons[name].add(reason)
        if how:
            remedies[name] = how
    total = sum(counts.values())
    terminalreporter.write_sep("!", f"{total} TESTS DID NOT RUN", red=True, bold=True)
    for name, count in counts.most_common():
        terminalreporter.write_line(f"  {count:>4}  {name}", red=True, bold=True)
        for reason in sorted(reasons[name])[:3]:
            terminalreporter.write_line(f"          why: {reason}")
        if name in remedies:
            terminalreporter.write_line(f"          to run them: {remedies[name]}")
    terminalreporter.write_sep("!", f"{total} TESTS DID NOT RUN (see above)", red=True, bold=True)
