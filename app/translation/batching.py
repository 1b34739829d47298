"""Dynamic batching: sentences from concurrent callers (API requests, jobs) for the same model
gathered into one CTranslate2 `translate_batch` call, each caller waiting for its own results.

A caller's sentences go to the model at once when a runner is free: nobody waits at
concurrency 1, and a caller alone (nothing queued, no model call running, no other caller on
its way) makes the model call itself, in its own thread, without the hand-over to a runner
thread and back. While every runner is busy, the sentences that arrive queue up and go together
in the next call (up to `max_batch` sentences), and a runner waits up to `wait_ms` for callers
known to be on their way. A caller inside another batcher (the quality check's way back is a
model of its own) is not on its way to this one: waiting for it left a core idle, e.g. two
requests at once in a process, one translating and one translating back (bench/README.md).
There is one runner thread per CTranslate2 replica (`inter_threads`), so two batches can run
at once on two cores; CTranslate2 releases the GIL while it decodes. And a caller that is all
the work there is (no other request in flight in the process, app/core/inflight.py, and no
other caller in any batcher) has its sentences spread over every replica of the model, a
piece each, in one call (`spread`): the other cores work on the same text instead of idling
(a two-sentence request on two cores, bench/README.md)."""

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from app.core import inflight

# Callers on their way to a model (inside a translation that will reach one), and callers in
# a batcher now (queued or in its model call): a runner waits a little while some of the
# first are in no batcher, since they may be about to come.
_expected = 0
_inside = 0
_counts_lock = threading.Lock()
# How often a waiting runner looks again whether anyone it waits for is still on the way.
LOOK_AGAIN_SECONDS = 0.0005


@contextmanager
def expecting() -> Iterator[None]:
    """Mark the calling request as on its way to a model while inside the block."""
    global _expected
    with _counts_lock:
        _expected += 1
    try:
        yield
    finally:
        with _counts_lock:
            _expected -= 1


def _enter(step: int) -> None:
    global _inside
    with _counts_lock:
        _inside += step


def outside() -> int:
    """Callers on their way to a model that are in no batcher now (may be below 0: a caller
    that was not marked with `expecting`, e.g. a job, is in a batcher all the same)."""
    return _expected - _inside


@dataclass
class _Job:
    tokens: list[list[str]]
    future: Future[list[Any]] = field(default_factory=Future)


class Batcher:
    """Runs `run(tokens) -> results` (one result per token list, in order) for many callers."""

    def __init__(
        self,
        run: Callable[[list[list[str]]], list[Any]],
        *,
        runners: int = 1,
        wait_ms: float = 3.0,
        max_batch: int = 32,
        name: str = "model",
        spread: Callable[[list[list[str]], int], list[Any]] | None = None,
    ) -> None:
        self._run = run
        self._spread = spread  # `run` in that many parts at once, one per replica
        self._wait = max(0.0, wait_ms) / 1000
        self._max = max(1, max_batch)
        self._runners = max(1, runners)
        self._name = name
        self.calls = 0  # model calls made (tests and benchmarks read it)
        self.sentences = 0
        self._start()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._queue: deque[_Job] = deque()
        self._ready = threading.Condition()
        self._busy = 0  # replicas at work (never more than runners)
        for i in range(self._runners):
            threading.Thread(
                target=self._runner, name=f"batch-{self._name}-{i}", daemon=True
            ).start()

    def translate(self, tokens: list[list[str]]) -> list[Any]:
        if not tokens:
            return []
        if self._pid != os.getpid():
            self._start()  # a forked process (a worker's process pool) inherits no threads
        _enter(1)
        try:
            return self._translate(tokens)
        finally:
            _enter(-1)

    def _translate(self, tokens: list[list[str]]) -> list[Any]:
        parts = 1
        with self._ready:
            alone = not self._queue and self._busy == 0 and outside() <= 0
            if alone:
                # All the work there is: no other request here, nobody else in any batcher.
                if self._spread is not None and _inside == 1 and inflight.requests() <= 1:
                    parts = min(self._runners, len(tokens))
                self._busy += parts
            else:
                job = _Job(tokens)
                self._queue.append(job)
                self._ready.notify()
        if not alone:
            return job.future.result()
        spread = self._spread if parts > 1 else None
        try:
            results = spread(tokens, parts) if spread else self._run(tokens)
        finally:
            self._done(parts)
        self.calls += 1
        self.sentences += len(tokens)
        return results

    def _done(self, replicas: int = 1) -> None:
        with self._ready:
            self._busy -= replicas
            if self._queue:
                self._ready.notify()

    def _take(self) -> list[_Job]:
        """The next batch: whatever is queued (up to max_batch sentences), waiting up to
        wait_ms while callers known to be on their way are in no batcher."""
        with self._ready:
            while not self._queue or self._busy >= self._runners:
                self._ready.wait()
            self._busy += 1
            jobs = [self._queue.popleft()]
            size = len(jobs[0].tokens)
            deadline = time.monotonic() + self._wait
            while size < self._max:
                if self._queue:
                    if size + len(self._queue[0].tokens) > self._max:
                        break
                    job = self._queue.popleft()
                    jobs.append(job)
                    size += len(job.tokens)
                    continue
                left = deadline - time.monotonic()
                if left <= 0 or outside() <= 0:
                    break
                # A caller that queues wakes this runner; one that stops being on its way (its
                # request ended, or it went into another model's batcher) tells no one.
                self._ready.wait(min(left, LOOK_AGAIN_SECONDS))
            if self._queue:
                self._ready.notify()  # another runner may take the rest now
            return jobs

    def _runner(self) -> None:
        while True:
            jobs = self._take()
            flat = [t for job in jobs for t in job.tokens]
            try:
                results = self._run(flat)
            except BaseException as error:  # every caller hears of it
                for job in jobs:
                    job.future.set_exception(error)
                continue
            finally:
                self._done()
            self.calls += 1
            self.sentences += len(flat)
            start = 0
            for job in jobs:
                job.future.set_result(results[start : start + len(job.tokens)])
                start += len(job.tokens)
