"""Dynamic batching and the translate API's in-process memory, with the real tiny en→es model:
concurrent callers share model calls and each gets its own translation; a repeated text is
answered without the model or the database."""

import csv
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import event

from app.core import inflight
from app.translation import argos, batching, recent, service
from app.translation.argos import engine
from app.translation.models import HumanTranslation
from tests.conftest import FIXTURES, count_rows
from tests.factories import SchoolFactory


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


def test_a_caller_alone_calls_the_model_in_its_own_thread(argos_models):
    """Nothing queued, nothing running, nobody else on the way: no hand-over to a runner
    thread and back. With another caller on its way, the sentences go to a runner, which
    may gather both."""
    first, second = _sentences(9)[7:9]
    batcher = engine._model("en", "es").batcher
    assert batcher is not None
    called_in: list[str] = []
    real_run = batcher._run

    def recording(tokens):
        called_in.append(threading.current_thread().name)
        return real_run(tokens)

    batcher._run = recording
    try:
        with batching.expecting():
            alone = engine.translate([first], "en", "es")[0]
        with batching.expecting(), batching.expecting():
            expecting_another = engine.translate([second], "en", "es")[0]
    finally:
        batcher._run = real_run
    assert called_in == [threading.current_thread().name, "batch-en-es-0"]
    assert alone and expecting_another and alone != expecting_another


def test_a_caller_in_another_model_is_not_waited_for(argos_models, monkeypatch):
    """Three requests at once: one is translating back (the quality check's model, held in
    its call here), so the other two are all that can come to the forward model. The first
    calls it in its own thread; the second, queued behind it, goes as soon as the model is
    free instead of waiting for the one that is translating back."""
    first, second = _sentences(11)[9:11]
    forward = engine._model("en", "es").batcher
    greedy = engine._model("es", "en").greedy_batcher
    assert forward is not None and greedy is not None
    monkeypatch.setattr(forward, "_wait", 30.0)  # a wait would outlast the test
    called_in: list[str] = []
    real_forward, real_greedy = forward._run, greedy._run
    back_inside, release_back = threading.Event(), threading.Event()
    first_inside, second_queued = threading.Event(), threading.Event()

    def held_back(tokens):
        back_inside.set()
        release_back.wait(30)
        return real_greedy(tokens)

    def recording(tokens):
        called_in.append(threading.current_thread().name)
        if not first_inside.is_set():
            first_inside.set()
            second_queued.wait(30)
        return real_forward(tokens)

    def request(text: str, greedy_way: bool = False) -> str:
        with batching.expecting():
            if greedy_way:
                return engine.translate_greedy([text], "es", "en")[0]
            return engine.translate([text], "en", "es")[0]

    forward._run, greedy._run = recording, held_back
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            way_back = pool.submit(request, "Hola.", True)
            assert back_inside.wait(30)
            one = pool.submit(request, first)
            assert first_inside.wait(30)
            two = pool.submit(request, second)
            while not forward._queue:
                threading.Event().wait(0.005)
            second_queued.set()
            assert one.result(timeout=30) and two.result(timeout=10)
            release_back.set()
            assert way_back.result(timeout=30)
    finally:
        forward._run, greedy._run = real_forward, real_greedy
        release_back.set()
        second_queued.set()
    assert called_in[0] != "batch-en-es-0"  # the first caller's own thread
    assert called_in[1:] == ["batch-en-es-0"]


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
    school = SchoolFactory().id

    def from_memory(school_id: int | None = school):
        return service.translate_from_memory(text, "en", "es", school_id=school_id)

    machine = service.translate(session, [text], "en", "es", school_id=school)[0]
    assert from_memory() is not None
    service.remember(
        session, school, "en", "es", text, "El viernes tomamos las fotos escolares.", None
    )
    # Forgotten at once in this process: the fast path must read again.
    assert from_memory() is None
    again = service.translate(session, [text], "en", "es", school_id=school)[0]
    assert again.origin == "human" and again.text != machine.text
    assert from_memory().origin == "human"
    # Only for that school: anyone else (another school, no school) gets the machine's.
    assert from_memory(None).origin == "cache"
    elsewhere = service.translate(session, [text], "en", "es", school_id=SchoolFactory().id)[0]
    assert (elsewhere.origin, elsewhere.text) == ("cache", machine.text)
    recent.forget()
    assert from_memory() is None


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


def test_the_way_back_splits_sentences_by_punctuation_not_the_splitter_model(
    session, argos_models, monkeypatch
):
    """The family's text goes through the package's sentence splitter model; its round trip
    is split at the punctuation the forward translation was joined with, and still checks
    every sentence."""
    split_by_model: list[str] = []
    forward, back = engine._model("en", "es"), engine._model("es", "en")
    for loaded in (forward, back):
        assert loaded.sentencizer is not None
        real = loaded.sentencizer.sentences

        def recording(text, real=real, pair=f"{loaded.pkg.from_code}-{loaded.pkg.to_code}"):
            split_by_model.append(pair)
            return real(text)

        monkeypatch.setattr(loaded.sentencizer, "sentences", recording)
    backs: list[list[str]] = []
    real_back = back.translate

    def recording_back(texts, greedy=False):
        out = real_back(texts, greedy=greedy)
        backs.append(out)
        return out

    monkeypatch.setattr(back, "translate", recording_back)
    text = "OK. Yes, I will come."  # "OK." leaves the end to the splitter's model
    assert not argos.clear_ends(text)
    result = service.translate(session, [text], "en", "es")[0]
    assert result.origin == "mt" and result.quality is not None
    assert split_by_model == ["en-es"]
    # Both sentences made the round trip, each translated on its own and joined.
    said = re.split(r"(?<=[.!?])\s+", result.text)
    assert len(said) == 2, result.text
    assert len(backs) == 1
    way_back = backs[0]
    assert way_back == [" ".join(back.translate([s], greedy=True)[0] for s in said)]


def test_sentences_that_end_plainly_are_split_without_the_splitter_model(
    session, argos_models, monkeypatch
):
    """Where every full stop, question or exclamation mark plainly ends a sentence, the text
    is split at them without the splitter's model, into the sentences the model would give;
    where one may not ("Mr.", "Sres.", "Bldg.", "a.m.", "OK." or a short word, a lower-case
    start, a protected number before the stop), the model decides."""
    forward = engine._model("en", "es")
    assert forward.sentencizer is not None
    by_model: list[str] = []
    real = forward.sentencizer.sentences

    def recording(text):
        by_model.append(text)
        return real(text)

    monkeypatch.setattr(forward.sentencizer, "sentences", recording)
    first, second, third = _sentences(3)
    plain = [
        f"{first} {second}",
        f"{first}  {second[:-1]}! {third[:-1]}?",
        f"{first} <x1> will be absent today.",
    ]
    for text in plain:
        assert argos.clear_ends(text), text
        assert forward.split(text) == real(text), text
    assert by_model == []
    unclear = [
        "Mr. Lee is here. Come in.",
        "Mrs. Lee will call. Thank you.",
        "We meet at 9 a.m. Tomorrow we go.",
        "It is late. and then we go.",
        "Wow... That is great.",
        f"OK. {second}",
        "Go to Bldg. C today.",  # no vowel: an abbreviation
        "Estimados Sres. Padres de familia.",
        "A Profª. Ana vem.",
        "Wir treffen uns am <x1>. Oktober.",  # a protected number before the stop
        "<x1>. Bring lunch <x2>. Bring a hat.",
    ]
    for text in unclear:
        assert not argos.clear_ends(text), text
        forward.split(text)
    assert by_model == unclear
    assert not argos.clear_ends('He said "Go." Then he left.')
    # Scripts without capitals, or with marks of their own, always go to the model.
    assert not argos.clear_ends("今天下雨。明天见。")
    assert not argos.clear_ends("هل أنت بخير؟ نعم.")
    assert argos.clear_ends("Estamos aquí. Ésta es la escuela.")
    translated = service.translate(session, [plain[0]], "en", "es")[0]
    assert translated.origin == "mt" and len(re.split(r"(?<=[.!?])\s+", translated.text)) == 2


def test_splitting_a_text_into_sentences_writes_no_log_line(session, argos_models, caplog):
    """The package's splitter model is called directly: argostranslate's own wrapper logs a
    line at info for every text it splits, which would be one more log line per message."""
    first, second = _sentences(7)[5:7]
    with caplog.at_level("INFO"):
        result = service.translate(session, [f"{first} {second}"], "en", "es")[0]
    assert result.origin == "mt"
    assert len(engine._model("en", "es").split(f"{first} {second}")) == 2
    assert [r.getMessage() for r in caplog.records if r.name.startswith("argostranslate")] == []


def test_translation_memory_is_not_searched_where_people_translated_nothing(session, argos_models):
    """With the API's recent reads: one look per direction whether people translated
    anything in it, not a search per text; a person's translation made in this process counts
    at once, one made by another process within `api_cache_seconds`."""
    memory_reads: list[str] = []

    @event.listens_for(session.connection(), "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "translation_memory" in statement:
            memory_reads.append(statement)

    first, second, third = _sentences(8)[5:8]
    school = SchoolFactory().id
    one = service.translate(session, [first], "en", "es", recent_reads=True, school_id=school)[0]
    two = service.translate(session, [second], "en", "es", recent_reads=True, school_id=school)[0]
    assert one.origin == two.origin == "mt"
    assert len(memory_reads) == 1, memory_reads  # the direction's look, once
    # Without recent reads (jobs, notes), every text is looked up.
    service.translate(session, [third], "en", "es", school_id=school)
    assert len(memory_reads) == 2
    # A repeated text is answered from memory: nobody translated anything en→es.
    assert service.translate_from_memory(first, "en", "es", school_id=school).origin == "cache"

    # Another process's translation: this one trusts what it read until it reads again.
    session.add(
        HumanTranslation(
            school_id=school,
            source="en",
            target="es",
            text_hash=service.memory_text_hash(second),
            translated="Otra persona.",
        )
    )
    session.flush()
    assert (
        service.translate(session, [second], "en", "es", recent_reads=True, school_id=school)[
            0
        ].origin
        == "cache"
    )
    recent.people.clear()
    recent.people_directions.clear()  # as when api_cache_seconds have passed
    assert service.translate(session, [second], "en", "es", recent_reads=True, school_id=school)[
        0
    ].text == ("Otra persona.")

    # A person's translation made in this process counts at once, in a direction where
    # people had translated nothing.
    assert (
        service.translate(session, [first], "en", "vi", recent_reads=True, school_id=school)[
            0
        ].origin
        == "mt"
    )
    assert service.translate_from_memory(first, "en", "vi", school_id=school).origin == "cache"
    service.remember(session, school, "en", "vi", first, "Bản dịch của một người.", None)
    assert service.translate_from_memory(first, "en", "vi", school_id=school) is None
    again = service.translate(session, [first], "en", "vi", recent_reads=True, school_id=school)[0]
    assert (again.origin, again.text) == ("human", "Bản dịch của một người.")


def test_fresh_translations_wait_for_one_deferred_write_per_round(
    session, argos_models, monkeypatch
):
    """The translate API's cache rows: every request's fresh translations go in the next
    round of deferred writes together, by one statement per direction."""
    queued: list = []
    monkeypatch.setattr(service.deferred, "write", queued.append)
    texts = _sentences(12)[8:12]
    for text in texts[:3]:
        service.translate(session, [text], "en", "es", defer_store=True)
    service.translate(session, [texts[3]], "en", "vi", defer_store=True)
    assert len(queued) == 1  # one write waits for the round, and will take every row
    assert count_rows(session, "translation_cache") == 0

    inserts: list[str] = []

    @event.listens_for(session.connection(), "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    queued[0](session)
    assert count_rows(session, "translation_cache") == 4
    assert len(inserts) == 2  # en→es and en→vi
    # The next fresh translation after a round waits for the next one.
    service.translate(session, [_sentences(13)[12]], "en", "es", defer_store=True)
    assert len(queued) == 2
    queued[1](session)
    assert count_rows(session, "translation_cache") == 5


def test_a_caller_alone_in_the_process_has_its_sentences_spread_over_the_replicas():
    """With nobody else in any batcher, a caller's sentences go to every replica at once (one
    piece each); with another caller in a model call, or one sentence, they go in one call
    and leave the other replicas free."""
    calls: list[tuple] = []

    def run(tokens):
        calls.append(("one call", len(tokens)))
        return [t[0].upper() for t in tokens]

    def spread(tokens, parts):
        calls.append(("spread", len(tokens), parts))
        return [t[0].upper() for t in tokens]

    inside, release = threading.Event(), threading.Event()

    def held(tokens):
        inside.set()
        release.wait(30)
        return tokens

    batcher = batching.Batcher(run, runners=2, spread=spread, name="test")
    other = batching.Batcher(held, runners=1, name="test-other")
    assert batcher.translate([["a"], ["b"], ["c"]]) == ["A", "B", "C"]
    assert batcher.translate([["d"]]) == ["D"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(other.translate, [["x"]])
        assert inside.wait(30)
        assert batcher.translate([["e"], ["f"]]) == ["E", "F"]
        release.set()
        assert busy.result(timeout=30) == [["x"]]
    assert batcher.translate([["g"], ["h"]]) == ["G", "H"]
    assert calls == [
        ("spread", 3, 2),
        ("one call", 1),
        ("one call", 2),  # another caller was in a model call
        ("spread", 2, 2),
    ]
    assert batcher._busy == 0 and batching._inside == 0


def test_sentences_spread_over_two_replicas_come_back_as_from_one_call(
    client, auth, argos_models, monkeypatch
):
    """The real model with two replicas: a lone three-sentence text is translated in pieces
    at once, and reads exactly as from one call, sentences in order; so is a lone request's
    through the API (the request itself is the one in flight)."""
    import ctranslate2

    text = " ".join(_sentences(14)[11:14])
    one_call = engine.translate([text], "en", "es")[0]
    loaded = engine._model("en", "es")
    batcher = loaded.batcher
    assert batcher is not None and batcher._spread is not None
    two = ctranslate2.Translator(
        str(loaded.pkg.package_path / "model"), device="cpu", inter_threads=2, intra_threads=1
    )
    monkeypatch.setattr(loaded, "translator", two)
    monkeypatch.setattr(batcher, "_runners", 2)
    spread_calls: list[tuple[int, int]] = []  # (pieces, requests in flight)
    real_spread = batcher._spread

    def recording(tokens, parts):
        spread_calls.append((parts, inflight.requests()))
        return real_spread(tokens, parts)

    monkeypatch.setattr(batcher, "_spread", recording)
    assert engine.translate([text], "en", "es")[0] == one_call
    assert spread_calls == [(2, 0)]
    body = {"text": " ".join(_sentences(17)[14:17]), "source": "en", "target": "es"}
    answer = client.post("/api/v1/translate", headers=auth("read"), json=body).json()
    assert answer["status"] == "translated" and answer["origin"] == "mt"
    assert spread_calls == [(2, 0), (2, 1)]
    assert inflight.requests() == 0
    tokens = [loaded.pkg.tokenizer.encode(s) for s in _sentences(14)[11:14]]
    whole, pieces = loaded._decode_batch(tokens), loaded._decode_spread(tokens, 3)
    assert [r.hypotheses for r in pieces] == [r.hypotheses for r in whole]
    assert [round(r.scores[0], 4) for r in pieces] == [round(r.scores[0], 4) for r in whole]


def test_a_caller_is_not_spread_while_another_request_is_in_flight():
    """Another request in the process (on its way in, or answering from memory) may need a
    core any moment: a caller then keeps to one replica, and spreads again once alone."""
    calls: list[str] = []

    def run(tokens):
        calls.append("one call")
        return tokens

    def spread(tokens, parts):
        calls.append(f"spread in {parts}")
        return tokens

    batcher = batching.Batcher(run, runners=2, spread=spread, name="test")
    inflight.count(2)  # this caller's request and another
    try:
        batcher.translate([["a"], ["b"]])
    finally:
        inflight.count(-2)
    inflight.count(1)
    try:
        batcher.translate([["c"], ["d"]])
    finally:
        inflight.count(-1)
    assert calls == ["one call", "spread in 2"]


def test_a_runner_stops_waiting_as_soon_as_nobody_is_on_the_way():
    """A runner waits for a request on its way; that request ends without coming (it was
    answered otherwise). Nobody tells the runner, so it looks again on its own: the queued
    caller goes at once, not after the whole wait."""
    inside, release = threading.Event(), threading.Event()

    def held(tokens):
        if not inside.is_set():
            inside.set()
            release.wait(30)
        return tokens

    batcher = batching.Batcher(held, runners=1, wait_ms=30_000, name="test-wait")

    def request(tokens):
        with batching.expecting():
            return batcher.translate(tokens)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(request, [["a"]])
        assert inside.wait(30)
        second = pool.submit(request, [["b"]])
        while not batcher._queue:
            threading.Event().wait(0.005)
        with batching.expecting():  # a third request, on its way
            release.set()
            assert first.result(timeout=30) == [["a"]]
            threading.Event().wait(0.05)  # the runner has taken the second and waits
            assert not second.done()
        started = time.monotonic()
        assert second.result(timeout=5) == [["b"]]
    assert time.monotonic() - started < 1
