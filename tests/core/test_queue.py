"""Jobs by name: enqueued only after the transaction that made them commits, dropped with a
rollback (or with the SAVEPOINT they were queued in), and each job one transaction."""

import pytest
from sqlalchemy import select

from app.core.queue import _JOBS, enqueue_job, job, registered, run_job
from app.schools.models import School
from tests.factories import SchoolFactory

seen: list[tuple[str, int]] = []


@job("tests.rename_school")
def rename_school(session, school_id: int, name: str) -> str:
    school = session.get(School, school_id)
    school.name = name
    seen.append(("rename", school_id))
    if name == "fail":
        raise RuntimeError("the job failed half-way")
    return name


@pytest.fixture(autouse=True)
def _forget():
    seen.clear()
    yield
    seen.clear()


def test_a_job_runs_after_commit_and_commits_its_own_work(session):
    school = SchoolFactory(name="Before")
    enqueue_job(session, "tests.rename_school", school.id, "After")
    assert seen == []  # nothing before the commit
    session.commit()  # the test queues are immediate: the job runs now, in its own session
    assert seen == [("rename", school.id)]
    session.expire_all()
    assert session.scalar(select(School.name).where(School.id == school.id)) == "After"


def test_a_job_that_fails_leaves_nothing_half_done(session):
    school = SchoolFactory(name="Before")
    session.commit()
    with pytest.raises(RuntimeError):
        run_job("tests.rename_school", school.id, "fail")
    session.expire_all()
    assert session.scalar(select(School.name).where(School.id == school.id)) == "Before"


def test_jobs_queued_in_a_rolled_back_savepoint_or_transaction_never_run(session):
    school = SchoolFactory(name="Before")
    with pytest.raises(RuntimeError), session.begin_nested():
        enqueue_job(session, "tests.rename_school", school.id, "Inside")
        raise RuntimeError("refused half-way")
    enqueue_job(session, "tests.rename_school", school.id, "Outside")
    session.commit()
    assert seen == [("rename", school.id)]
    session.expire_all()
    assert session.get(School, school.id).name == "Outside"


def test_jobs_queued_in_a_released_savepoint_wait_for_the_real_commit(session):
    """Releasing a SAVEPOINT (a form's all-or-nothing write that succeeded) is no commit: a job
    started then would run before its data exists for anyone else, and would still run if the
    transaction around it rolled back."""
    school = SchoolFactory(name="Before")
    session.commit()
    with session.begin_nested():
        enqueue_job(session, "tests.rename_school", school.id, "Released")
    assert seen == []  # released, not committed
    session.rollback()
    assert seen == []  # and gone with the transaction around it

    with session.begin_nested():
        enqueue_job(session, "tests.rename_school", school.id, "Committed")
    assert seen == []
    session.commit()
    assert seen == [("rename", school.id)]


def test_an_unknown_job_name_is_a_clear_error(session):
    with pytest.raises(LookupError, match="no job named 'tests.nothing'"):
        enqueue_job(session, "tests.nothing", 1)


def test_every_job_has_a_stable_queue_identity():
    """Moving a job's code to another module must not strand queued jobs: the identifier Huey
    stores is the registry module plus the job's name."""
    task = registered("tests.rename_school")
    assert task.huey._registry.task_to_string(task.task_class) == (
        "app.core.queue.tests.rename_school"
    )
    assert "tests.rename_school" in _JOBS


def test_every_job_named_in_the_code_is_registered():
    """A job is queued by its name alone: a name with no job behind it would fail only when
    that code path runs. Every literal name given to enqueue_job, schedule_job or run_job in
    app/ (and the CLI) must be a registered job."""
    import ast
    from pathlib import Path

    import app.tasks  # noqa: F401  (registers every job, as the server and the worker do)

    callers = {"enqueue_job", "schedule_job", "run_job"}
    named: dict[str, str] = {}
    root = Path(app.tasks.__file__).parent
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called not in callers:
                continue
            name = next(
                (
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ),
                None,
            )
            if name is None:
                # Names kept in a registry of job names (replies.on_reply): checked below.
                assert any(isinstance(a, ast.Name) and a.id == "job_name" for a in node.args), (
                    f"{path}:{node.lineno}: a job named by a literal"
                )
                continue
            named[name] = f"{path.relative_to(root.parent)}:{node.lineno}"
    from app.messaging import replies

    named |= {name: "app/messaging/replies.py: on_reply" for name in replies._REPLY_JOBS}
    assert {"delivery.send", "messaging.prepare", "broadcasts.fan_out"} <= set(named)
    unknown = {name: where for name, where in named.items() if name not in _JOBS}
    assert unknown == {}
