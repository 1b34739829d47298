"""Dynamic batching and the translate API's in-process memory, with the real tiny en→es model:
concurrent callers share model calls and each gets its own translation; a repeated text is
answered without the model or the database."""

import csv
import threading
from concurrent.futures import ThreadPoolExecutor

from app.translation import recent, service
from app.translation.argos import engine
from tests.conftest import FIXTURES


def _sentences(n: int) -> list[str]:
    """`n` different English sentences of the test models' corpus."""
    seen: dict[str, None] = {}
    with open(FIXTURES / "corpus.tsv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            seen.setdefault(row["en"], None)
    return list(seen)[:n]


def test_concurrent_callers_share_model_calls_and_each_gets_its_own_translation(argos_models):
    sentences = _sentences(50)
    assert len(sentences) == 50
    alone = [engine.translate([s], "en", "es")[0] for s in sentences]
    loaded = engine._model("en", "es")
    batcher = loaded.batcher
    assert batcher is not None
    # The first model call waits until every other caller has queued its sentence, so the
    # rest must go together (the model itself is not touched: a wrapper around the real call).
    real_run = batcher._run
    all_queued = threading.Event()
    first = threading.Event()

    def gated(tokens):
        if not first.is_set():
            first.set()
            all_queued.wait(30)
        return real_run(tokens)

    batcher._run = gated
    calls_before = batcher.calls
    try:
        with ThreadPoolExecutor(max_workers=50) as pool:
            futures = [pool.submit(engine.translate, [s], "en", "es") for s in sentences]
            while len(batcher._queue) < 49 and not all(f.done() for f in futures):
                threading.Event().wait(0.01)
            all_queued.set()
            together = [f.result(timeout=60)[0] for f in futures]
    finally:
        batcher._run = real_run
    assert together == alone
    calls = batcher.calls - calls_before
    # One call for the first caller, the 49 others in batches of up to 32 sentences.
    assert 2 <= calls <= 3, calls


def test_a_repeated_text_is_answered_from_memory_without_the_model(client, auth, argos_models):
    headers = auth("read")
    body = {"text": "The library is open after school.", "source": "en", "target": "es"}
    first = client.post("/api/v1/translate", headers=headers, json=body).json()
    assert first["origin"] == "mt" and first["status"] == "translated"
    batcher = engine._model("en", "es").batcher
    assert batcher is not None
    calls, sentences = batcher.calls, batcher.sentences
    # The fast path itself takes no session: nothing here can reach the database.
    remembered = service.translate_from_memory(body["text"], "en", "es", short_replies=True)
    assert remembered is not None and remembered.origin == "cache"
    again = client.post("/api/v1/translate", headers=headers, json=body).json()
    assert again["origin"] == "cache" and again["cached"] is True
    assert again["text"] == first["text"] and again["quality"] == first["quality"]
    assert (batcher.calls, batcher.sentences) == (calls, sentences)


def test_memory_yields_to_a_persons_translation(session, argos_models):
    text = "Picture day is on Friday."
    machine = service.translate(session, [text], "en", "es")[0]
    assert service.translate_from_memory(text, "en", "es") is not None
    service.remember(session, "en", "es", text, "El viernes tomamos las fotos escolares.", None)
    # Forgotten at once in this process: the fast path must read again.
    assert service.translate_from_memory(text, "en", "es") is None
    again = service.translate(session, [text], "en", "es")[0]
    assert again.origin == "human" and again.text != machine.text
    assert service.translate_from_memory(text, "en", "es").origin == "human"
    recent.forget()
    assert service.translate_from_memory(text, "en", "es") is None


def test_memory_yields_to_a_new_engine_choice(client, auth, session, argos_models):
    text = "Picture day is on Friday."
    service.translate(session, [text], "en", "es")
    assert service.translate_from_memory(text, "en", "es") is not None
    chosen = client.put(
        "/api/v1/languages/es/engine", headers=auth("admin"), json={"engine": "argos"}
    )
    assert chosen.status_code == 200, chosen.text
    # The choice is read again before the fast path answers anything.
    assert service.translate_from_memory(text, "en", "es") is None


def test_the_quality_checks_way_back_decodes_greedily(session, argos_models, monkeypatch):
    """The family's translation with argostranslate's beam; the round trip that checks it
    with one hypothesis (beam size 1), in a batcher of its own."""
    seen: list[tuple[str, int]] = []

    class Recording:
        def __init__(self, real, pair: str) -> None:
            self.real, self.pair = real, pair

        def translate_batch(self, tokens, **options):
            seen.append((self.pair, options["beam_size"]))
            return self.real.translate_batch(tokens, **options)

    forward, back = engine._model("en", "es"), engine._model("es", "en")
    monkeypatch.setattr(forward, "translator", Recording(forward.translator, "en-es"))
    monkeypatch.setattr(back, "translator", Recording(back.translator, "es-en"))
    greedy_calls = back.greedy_batcher.calls
    sentence = _sentences(3)[2]
    result = service.translate(session, [sentence], "en", "es")[0]
    assert result.origin == "mt" and result.quality is not None
    assert result.quality.level == "good", result.quality  # a sentence the model knows
    assert forward.beam_size > 1
    assert seen == [("en-es", forward.beam_size), ("es-en", 1)]
    assert back.greedy_batcher.calls == greedy_calls + 1
