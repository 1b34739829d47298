"""Scale-out, as README "Deploying at scale" describes it: PostgreSQL, Redis as the queue, two
sending workers (`hearth worker --queue send`, I/O threads) and one translating worker
(`hearth worker --queue translate --worker-type process`, forked processes), all real
subprocesses; a broadcast to 5,000 families in English and Spanish; the official Twilio SDK
talking to the local Twilio double. Every text must reach Twilio exactly once."""

import time
from collections import Counter
from pathlib import Path

from app.devtools.twilio_double import TwilioDouble
from tests.scaleout import harness

GUARDIANS = 5000
LANGUAGES = ("en", "en", "en", "en", "es")  # one family in five reads Spanish
BODY = "School is closed today."
ARGOS_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "argos" / "packages"


def test_two_workers_send_every_text_exactly_once(tmp_path, database_url, redis_url):
    with TwilioDouble(auth_token="scale-out-token").start() as double:
        env = harness.hearth_env(
            tmp_path, database_url, redis_url, **harness.twilio_settings(double)
        )
        began = time.monotonic()
        harness.seed_and_broadcast(
            env, GUARDIANS, BODY, languages=LANGUAGES, argos_fixtures=ARGOS_FIXTURES
        )
        seeded = time.monotonic()
        with harness.workers(
            env,
            tmp_path,
            ("send-1", ["--queue", "send", "--workers", "4"]),
            ("send-2", ["--queue", "send", "--workers", "4"]),
            ("translate", ["--queue", "translate", "--worker-type", "process", "--workers", "2"]),
        ) as running:
            # Bounded generously for a busy machine; on an idle one it takes a fraction of it.
            rows = harness.wait_until_settled(database_url, GUARDIANS, 240, running)
            settled = time.monotonic()
            by_worker = {w.name: w.outcomes() for w in running}
            assert all(w.alive() for w in running), "a worker died"

    per_number = harness.per_recipient(double)
    print(
        f"\nrows: {dict(rows)}; Twilio double: {len(double.attempts)} requests, "
        f"{len(double.messages)} texts accepted for {len(per_number)} numbers, most to one "
        f"number: {max(per_number.values(), default=0)}; sent per worker: "
        + ", ".join(f"{name} {c['sent']}" for name, c in by_worker.items())
        + f"; distinct bodies: {len({m.body for m in double.messages})}; seeding "
        f"{seeded - began:.1f} s, workers' start to every text settled {settled - seeded:.1f} s"
    )
    assert rows == Counter({"sent": GUARDIANS})
    assert len(double.messages) == GUARDIANS == len(double.attempts)
    assert len(per_number) == GUARDIANS and max(per_number.values()) == 1
    # Both sending workers sent, the translating worker sent nothing, and every send is theirs.
    assert by_worker["send-1"]["sent"] > 0 and by_worker["send-2"]["sent"] > 0
    assert by_worker["send-1"]["sent"] + by_worker["send-2"]["sent"] == GUARDIANS
    assert by_worker["translate"]["sent"] == 0
    # One text per language, rendered once: the English as written, the Spanish translated.
    spanish = {m.body for m in double.messages if int(m.to[-7:]) % 5 == 4}
    english = {m.body for m in double.messages if int(m.to[-7:]) % 5 != 4}
    assert english == {BODY}
    assert len(spanish) == 1 and spanish != english
