"""One transaction per request, job and command: services flush, and only the session
dependency, the job runner, the CLI's scope and the migration lock commit. Anywhere else a
commit (`.commit()`, or `with ….begin():` which commits as it ends) must say why on its line
with `# commits on purpose: <why>`, so that a new stray commit fails here."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
MARKER = "# commits on purpose:"
# Where a transaction ends by design: the request's session dependency, the job runner (and its
# lease heartbeat), the `hearth` command's scope, the migration lock.
ALLOWED = {"core/db.py", "core/queue.py", "core/cli.py", "core/migrations.py"}


def commit_calls(source: str) -> list[int]:
    """The lines of every call that commits: `x.commit()` and `x.begin()` (a transaction that
    commits when its block ends; `begin_nested()` is a SAVEPOINT and does not)."""
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "begin")
    )


def unmarked(source: str) -> list[int]:
    lines = source.splitlines()
    return [n for n in commit_calls(source) if MARKER not in lines[n - 1]]


def commit_sites() -> dict[str, list[int]]:
    """Relative path → lines of its commits, over all of app/."""
    sites = {}
    for path in sorted(APP.rglob("*.py")):
        found = commit_calls(path.read_text())
        if found:
            sites[path.relative_to(APP).as_posix()] = found
    return sites


def test_every_commit_outside_the_transaction_owners_says_why():
    stray = {
        f"app/{name}:{line}"
        for name in commit_sites()
        if name not in ALLOWED
        for line in unmarked((APP / name).read_text())
    }
    assert not stray, f"commit without '{MARKER} <why>' (services flush): {sorted(stray)}"


def test_services_of_people_and_records_only_flush():
    sites = commit_sites()
    assert "people/service.py" not in sites
    # The retention purge's batches are short transactions of their own, by design; the
    # export and the deletion are the caller's one transaction.
    assert unmarked((APP / "records/service.py").read_text()) == []


def test_the_transaction_owners_commit():
    sites = commit_sites()
    for name in ("core/db.py", "core/queue.py", "core/cli.py"):
        assert sites.get(name), f"app/{name} no longer commits: update ALLOWED and the docs"


def test_a_new_stray_commit_is_caught():
    source = (
        "def save(session):\n"
        "    session.flush()\n"
        "    session.commit()\n"
        "    with factory.begin() as other:  # commits on purpose: a record of its own\n"
        "        other.add(1)\n"
        "    with session.begin_nested():\n"
        "        pass\n"
    )
    assert commit_calls(source) == [3, 4]
    assert unmarked(source) == [3]
