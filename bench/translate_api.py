"""Hearth's translate API beside LibreTranslate 1.9.6, same model, same load, one run.

    .venv/bin/python bench/translate_api.py [--rounds 2] [--seconds 10]
        [--concurrency 1 4 16] [--workloads unique pairs same20]
        [--libretranslate PATH/bin/libretranslate] [--no-lt-cache] [--hearth 1 2 2+back ...]

Both servers translate with the same tiny en→es Argos package
(tests/fixtures/argos/packages/translate-en_es.argosmodel), one CTranslate2 thread per
translation. Hearth runs as `hearth serve` (SQLite, embedded consumer threads, the defaults)
in a fresh copy of a prepared data dir (migrated, package installed, a read-scope API key
made with `hearth apikeys create`) with HEARTH_ARGOS_INTRA_THREADS=1, in each shape given by
--hearth: by default one server process, `--workers 2`, and `--workers 2` with the es→en
package installed too (`2+back`): then Hearth also translates every fresh translation back
for its quality check, as it does in a school that receives replies (LibreTranslate does no
such check); N:SETTING=VALUE,... adds settings. LibreTranslate runs with
ARGOS_INTRA_THREADS=1, no translation cache, en→es and es→en installed (with two packages it
does not go to the network at start-up), `--load-only en,es --disable-files-translation
--disable-web-ui`, its default 4 waitress threads.

Workloads, each at every concurrency:
  unique  one sentence per request, cycling through the 287 English sentences of
          tests/fixtures/argos/corpus.tsv (Hearth's cache answers every pass after the first;
          the hit share is printed)
  pairs   two sentences per request in one text, no pair ever repeated (no cache can help)
  same20  the same 20 sentences over and over (cache hits for Hearth after the first 20)
and, unless --no-lt-cache, LibreTranslate with `--translation-cache all` on `same20`.

The load comes from wrk (Debian package `wrk`): closed loop, one wrk thread, N keep-alive
connections on 127.0.0.1 each with one request in flight, bodies from a file through a small
Lua script. wrk uses a few microseconds of CPU per request (the generator check at the start
measures it against a trivial server), so it takes little of the two cores from the server;
it runs on the same cores for both servers. Every line starts its server afresh, warms it up
(model loaded, 20 requests), then measures for --seconds; servers alternate line by line and
swap who goes first every other line. The summary gives the median of --rounds rounds.

Needs: wrk; the LibreTranslate venv (made from bench/libretranslate-1.9.6-requirements.lock,
see bench/README.md; without it only Hearth is measured). Temporary dirs and every process
started are removed at the end.
"""

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "argos"
PACKAGES = ("translate-en_es", "translate-es_en")
LT_LOCK = ROOT / "bench" / "libretranslate-1.9.6-requirements.lock"
WORKLOADS = {
    "unique": "unique sentences (287, cycled)",
    "pairs": "two sentences per request, never repeated",
    "same20": "the same 20 sentences",
}
WARM_UP_TEXT = "Warm up before the measurement."
WARM_UP_REQUESTS = 20

LUA = textwrap.dedent("""\
    -- POST one body per request, cycling through the lines of $BENCH_BODIES.
    local bodies = {}
    for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
    local next_body = 0
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    local auth = os.getenv("BENCH_AUTHORIZATION")
    if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
    request = function()
      next_body = next_body + 1
      if next_body > #bodies then next_body = 1 end
      return wrk.format(nil, nil, nil, bodies[next_body])
    end
    done = function(summary, latency, requests)
      io.write(string.format(
        'BENCH {"requests": %d, "duration_us": %d, "status_errors": %d, "timeouts": %d, '
        .. '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\\n',
        summary.requests, summary.duration, summary.errors.status, summary.errors.timeout,
        summary.errors.connect + summary.errors.read + summary.errors.write,
        latency:percentile(50), latency:percentile(99)))
    end
""")

# The generator check's server: a canned 200 on every keep-alive request, as little work as an
# HTTP server in Python can do, so that the figure is mostly the generator's own cost.
TRIVIAL_SERVER = textwrap.dedent("""\
    import asyncio, sys
    BODY = b'{"translatedText":"ok"}'
    RESPONSE = (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: "
                + str(len(BODY)).encode() + b"\\r\\n\\r\\n" + BODY)

    class Canned(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.buffer = transport, b""
        def data_received(self, data):
            self.buffer += data
            while True:
                head, sep, rest = self.buffer.partition(b"\\r\\n\\r\\n")
                if not sep:
                    return
                length = 0
                for line in head.split(b"\\r\\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if len(rest) < length:
                    return
                self.buffer = rest[length:]
                self.transport.write(RESPONSE)

    async def main():
        server = await asyncio.get_running_loop().create_server(
            Canned, "127.0.0.1", int(sys.argv[1]))
        async with server:
            await server.serve_forever()
    asyncio.run(main())
""")


# Plumbing ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_average() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (every thread) and of its live descendants (the
    server processes of `hearth serve --workers N`), from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in child_pids(pid))


def child_pids(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def post_json(url: str, body: dict, headers: dict[str, str] | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout:.0f} s:\n{tail(log)}")


@contextmanager
def process(
    args: list[str], env: dict[str, str], log: Path, cwd: Path
) -> Iterator[subprocess.Popen]:
    """A server in its own process group; stopped (TERM, then KILL) on exit."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def english_sentences() -> list[str]:
    with open(FIXTURES / "corpus.tsv", encoding="utf-8", newline="") as f:
        return [row["en"] for row in csv.DictReader(f, delimiter="\t")]


def workload_texts(name: str, sentences: list[str]) -> list[str]:
    if name == "unique":
        return sentences
    if name == "same20":
        step = len(sentences) // 20
        return sentences[::step][:20]
    # pairs: request k joins sentence i with sentence i + d, d = 1, 2, ... per pass, so every
    # ordered pair of two different sentences comes once (287 × 286 = 82,082 requests).
    n = len(sentences)
    return [f"{sentences[i]} {sentences[(i + d) % n]}" for d in range(1, n) for i in range(n)]


# The two servers --------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str  # the translate endpoint
    proc: subprocess.Popen
    headers: dict[str, str]
    metrics_url: str | None = None

    def body(self, text: str) -> dict:
        if self.name.startswith("LibreTranslate"):
            return {"q": text, "source": "en", "target": "es", "format": "text"}
        return {"text": text, "source": "en", "target": "es"}

    def translate(self, text: str) -> str:
        answer = post_json(self.url, self.body(text), self.headers)
        return answer.get("translatedText") or answer.get("text") or ""

    def cache_counts(self) -> tuple[float, float] | None:
        """Hearth's (hits, misses) so far, from /metrics."""
        if self.metrics_url is None:
            return None
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            lines = response.read().decode().splitlines()
        values = {}
        for line in lines:
            for key in (
                "hearth_translation_cache_hits_total",
                "hearth_translation_cache_misses_total",
            ):
                if line.startswith(key + " "):
                    values[key] = float(line.split()[1])
        return (
            values.get("hearth_translation_cache_hits_total", 0.0),
            values.get("hearth_translation_cache_misses_total", 0.0),
        )


def hearth_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEARTH_", "ARGOS_"))}
    env["HEARTH_DATA_DIR"] = str(data_dir)
    env["HEARTH_ENV"] = "dev"
    env["HEARTH_ARGOS_INTRA_THREADS"] = "1"
    return env


def prepare_hearth(template: Path, way_back: bool = False) -> str:
    """A migrated data dir with the en→es package installed (and es→en with `way_back`);
    returns a read-scope API key."""
    env = hearth_env(template)

    def hearth(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"hearth {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    hearth("db", "upgrade")
    for name in PACKAGES if way_back else PACKAGES[:1]:
        hearth("models", "install-file", str(FIXTURES / "packages" / f"{name}.argosmodel"))
    return (
        hearth("apikeys", "create", "--name", "bench", "--scopes", "read").strip().splitlines()[-1]
    )


@dataclass(frozen=True)
class Shape:
    """How Hearth is run: `hearth serve --workers N`, settings on top of the defaults, and
    whether the reverse model (es→en) is installed, so that every fresh translation is also
    translated back for the quality check, as in a school that also gets replies."""

    workers: int = 1
    settings: tuple[tuple[str, str], ...] = ()
    way_back: bool = False

    @classmethod
    def parse(cls, given: str) -> "Shape":
        """ "2", "2+back" or "1:HEARTH_TRANSLATE_BATCH_MAX=0,HEARTH_ARGOS_INTER_THREADS=2"."""
        head, _, rest = given.partition(":")
        workers, _, back = head.partition("+")
        if back not in ("", "back"):
            raise ValueError(f"unknown shape {given!r}: N, N+back, N:SETTING=VALUE,...")
        pairs = [item.split("=", 1) for item in rest.split(",") if item]
        return cls(int(workers), tuple((k, v) for k, v in pairs), back == "back")

    @property
    def name(self) -> str:
        name = "Hearth" if self.workers == 1 else f"Hearth --workers {self.workers}"
        if self.way_back:
            name += " + es→en"
        extra = " ".join(f"{k.removeprefix('HEARTH_').lower()}={v}" for k, v in self.settings)
        return f"{name} {extra}" if extra else name


@contextmanager
def hearth_server(template: Path, key: str, work: Path, shape: Shape) -> Iterator[Server]:
    workers = shape.workers
    data_dir = work / "hearth-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(template, data_dir)
    port = free_port()
    log = work / "hearth.log"
    args = [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", str(workers)]
    env = hearth_env(data_dir)
    env.update(shape.settings)
    with process(args, env, log, ROOT) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/api/v1/health", proc, log)
        if workers > 1:  # every process up and its model loaded before the figures
            for _ in range(workers * WARM_UP_REQUESTS):
                post_json(f"{base}/api/v1/translate",
                          {"text": WARM_UP_TEXT, "source": "en", "target": "es"},
                          {"Authorization": f"Bearer {key}"})  # fmt: skip
        yield Server(
            shape.name,
            f"{base}/api/v1/translate",
            proc,
            {"Authorization": f"Bearer {key}"},
            # /metrics answers from one process of several: their counters mean little.
            metrics_url=f"{base}/metrics" if workers == 1 else None,
        )
    shutil.rmtree(data_dir, ignore_errors=True)


def prepare_libretranslate(packages_dir: Path) -> None:
    """The packages unzipped, as LibreTranslate's ARGOS_PACKAGES_DIR wants them."""
    for name in PACKAGES:
        with zipfile.ZipFile(FIXTURES / "packages" / f"{name}.argosmodel") as archive:
            archive.extractall(packages_dir)


def engine_alone(packages_dir: Path, sentences: list[str], seconds: float) -> dict[int, float]:
    """The model alone, in this process: CTranslate2 on one thread with the options both
    servers use (beam 4, as argostranslate), fed the `pairs` workload's requests (two corpus
    lines each) `k` requests per call. CPU ms per request, by k: 1 is a server with one
    replica and no batching (LibreTranslate: its bound at concurrency 4 and 16), 8 is about
    what Hearth's batcher gathers at concurrency 16 with two processes."""
    import ctranslate2
    import sentencepiece

    package = packages_dir / PACKAGES[0]
    pieces = sentencepiece.SentencePieceProcessor(model_file=str(package / "sentencepiece.model"))
    tokens = [pieces.encode(s, out_type=str) for s in sentences]
    translator = ctranslate2.Translator(
        str(package / "model"), device="cpu", inter_threads=1, intra_threads=1
    )
    n = len(tokens)
    out = {}
    for per_call in (1, 8):
        done, request = 0, 0
        started = time.process_time()
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            batch = []
            for _ in range(per_call):  # request k: lines i and i + d, as in workload_texts
                d, i = divmod(request, n)
                batch += [tokens[i], tokens[(i + d % (n - 1) + 1) % n]]
                request += 1
            translator.translate_batch(
                batch, beam_size=4, num_hypotheses=1, length_penalty=0.2,
                replace_unknowns=True, return_scores=True, max_batch_size=32,
            )  # fmt: skip
            done += per_call
        out[per_call] = (time.process_time() - started) * 1000 / done
    return out


@contextmanager
def libretranslate_server(
    binary: Path, packages_dir: Path, work: Path, cache: bool
) -> Iterator[Server]:
    home = work / "lt-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEARTH_", "ARGOS_", "LT_"))}
    env.update(
        ARGOS_PACKAGES_DIR=str(packages_dir),
        ARGOS_INTRA_THREADS="1",
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
    )
    port = free_port()
    args = [
        str(binary), "--host", "127.0.0.1", "--port", str(port), "--load-only", "en,es",
        "--disable-files-translation", "--disable-web-ui",
    ]  # fmt: skip
    if cache:
        args += ["--translation-cache", "all"]
    log = work / "libretranslate.log"
    with process(args, env, log, home) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/languages", proc, log)
        name = "LibreTranslate + cache" if cache else "LibreTranslate"
        yield Server(name, f"{base}/translate", proc, {})
    shutil.rmtree(home, ignore_errors=True)


# Measuring --------------------------------------------------------------------------------------


@dataclass
class Line:
    server: str
    workload: str
    concurrency: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu: float  # share of one core
    wrk_cpu: float  # share of one core
    load: str
    cache_hits: float | None  # Hearth: share of texts answered from its cache

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_wrk(
    wrk: str,
    url: str,
    bodies: Path,
    lua: Path,
    concurrency: int,
    seconds: float,
    authorization: str = "",
) -> tuple[dict, float]:
    """wrk's figures, and the CPU seconds wrk used."""
    env = {**os.environ, "BENCH_BODIES": str(bodies), "BENCH_AUTHORIZATION": authorization}
    before = children_cpu_seconds()
    done = subprocess.run(
        [wrk, "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "60s", "-s", str(lua),
         url],
        env=env, capture_output=True, text=True, timeout=seconds + 120,
    )  # fmt: skip
    used = children_cpu_seconds() - before
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line.removeprefix("BENCH ")), used
    raise RuntimeError(f"wrk gave no figures:\n{done.stdout}\n{done.stderr}")


def measure(
    server: Server,
    workload: str,
    texts: list[str],
    concurrency: int,
    seconds: float,
    wrk: str,
    lua: Path,
    work: Path,
) -> Line:
    bodies = work / f"bodies-{server.name.split()[0]}-{workload}.jsonl"
    if not bodies.exists():
        bodies.write_text(
            "".join(json.dumps(server.body(t), ensure_ascii=False) + "\n" for t in texts),
            encoding="utf-8",
        )
    for _ in range(WARM_UP_REQUESTS):  # loads the model; never one of the measured texts
        server.translate(WARM_UP_TEXT)
    counts_before = server.cache_counts()
    load = load_average()
    cpu_before, started = cpu_seconds(server.proc.pid), time.monotonic()
    figures, wrk_cpu = run_wrk(
        wrk, server.url, bodies, lua, concurrency, seconds,
        server.headers.get("Authorization", ""),
    )  # fmt: skip
    elapsed = time.monotonic() - started
    server_cpu = (cpu_seconds(server.proc.pid) - cpu_before) / elapsed
    hits = None
    counts_after = server.cache_counts()
    if counts_before and counts_after:
        new_hits = counts_after[0] - counts_before[0]
        new_misses = counts_after[1] - counts_before[1]
        hits = new_hits / (new_hits + new_misses) if new_hits + new_misses else 0.0
    return Line(
        server=server.name,
        workload=workload,
        concurrency=concurrency,
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["status_errors"] + figures["timeouts"] + figures["socket_errors"],
        server_cpu=server_cpu,
        wrk_cpu=wrk_cpu / elapsed,
        load=load,
        cache_hits=hits,
    )


def cpu_per_request(line: Line) -> float:
    """Server CPU time per answered request, in ms: less swayed by other load than req/s."""
    return line.server_cpu * 1000 / line.rate if line.rate else 0.0


def show(line: Line, round_no: int) -> None:
    hits = f", cache hits {line.cache_hits:.0%}" if line.cache_hits is not None else ""
    errors = f", {line.errors} ERRORS" if line.errors else ""
    print(
        f"  round {round_no} {line.workload:<6} c={line.concurrency:<2} {line.server:<23}"
        f" {line.rate:7.0f} req/s  p50 {line.p50_ms:7.1f} ms  p99 {line.p99_ms:8.1f} ms"
        f"  server CPU {line.server_cpu:4.0%} ({cpu_per_request(line):.2f} ms/req)"
        f"  wrk CPU {line.wrk_cpu:3.0%}"
        f"  load {line.load}{hits}{errors}",
        flush=True,
    )


def check_generator(wrk: str, lua: Path, work: Path, seconds: float) -> float:
    """wrk against a canned-answer server: its rate and its CPU per request (µs)."""
    port = free_port()
    log = work / "trivial.log"
    bodies = work / "bodies-trivial.jsonl"
    bodies.write_text('{"q": "x", "source": "en", "target": "es"}\n')
    args = [sys.executable, "-c", TRIVIAL_SERVER, str(port)]
    with process(args, dict(os.environ), log, work) as proc:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        cpu_before = cpu_seconds(proc.pid)
        figures, wrk_cpu = run_wrk(wrk, f"http://127.0.0.1:{port}/", bodies, lua, 16, seconds)
        server_cpu = cpu_seconds(proc.pid) - cpu_before
    rate = figures["requests"] / (figures["duration_us"] / 1e6)
    per_request_us = wrk_cpu / figures["requests"] * 1e6
    print(
        f"generator check: wrk -t1 -c16 against a canned-answer Python server: {rate:,.0f} req/s,"
        f" wrk {per_request_us:.0f} µs CPU per request (server {server_cpu / seconds:.0%} of a"
        f" core); load {load_average()}"
    )
    return per_request_us


# The run ----------------------------------------------------------------------------------------


def summary(
    lines: list[Line], workloads: list[str], concurrencies: list[int], rounds: int,
    hearths: list[str],
) -> None:  # fmt: skip
    def pick(server: str, workload: str, c: int) -> list[Line]:
        return [x for x in lines if x.server == server and x.workload == workload
                and x.concurrency == c]  # fmt: skip

    def cell(group: list[Line]) -> str:
        if not group:
            return "—"
        rate = statistics.median(x.rate for x in group)
        p50 = statistics.median(x.p50_ms for x in group)
        p99 = statistics.median(x.p99_ms for x in group)
        return f"{rate:,.0f} ({p50:,.1f} / {p99:,.0f})"

    def loads(group: list[Line]) -> str:
        return ", ".join(x.load.split("/")[0] for x in group)

    print(
        f"\nMedians of {rounds} round(s): req/s (p50 / p99 ms); × = req/s ÷ LibreTranslate's; "
        "load = 1-min load average at the start of each run of the line (every server, every round)"
    )
    head = " | ".join(f"{h} | ×" for h in hearths)
    print(f"| sentences | conc. | LibreTranslate | {head} | load |")
    print("|---|---|---|" + "---|---|" * len(hearths) + "---|")
    for workload in workloads:
        for c in concurrencies:
            lt = pick("LibreTranslate", workload, c)
            cells = []
            for h in hearths:
                group = pick(h, workload, c)
                ratio = "—"
                if lt and group:
                    lt_rate = statistics.median(x.rate for x in lt)
                    ratio = f"{statistics.median(x.rate for x in group) / lt_rate:.2f}"
                cells.append(f"{cell(group)} | {ratio}")
            every = [x for h in hearths for x in pick(h, workload, c)] + lt
            print(
                f"| {WORKLOADS[workload]} | {c} | {cell(lt)} | {' | '.join(cells)}"
                f" | {loads(every)} |"
            )
    cached = [x for x in lines if x.server == "LibreTranslate + cache"]
    for c in concurrencies:
        group = [x for x in cached if x.concurrency == c]
        if group:
            print(f"| {WORKLOADS['same20']}, LibreTranslate --translation-cache all | {c} "
                  f"| {cell(group)} |" + " | |" * len(hearths) + f" {loads(group)} |")  # fmt: skip
    cpu = {}
    for name in ("LibreTranslate", *hearths, "LibreTranslate + cache"):
        group = [x.server_cpu for x in lines if x.server == name and x.concurrency > 1]
        if group:
            cpu[name] = f"{statistics.median(group):.0%}"
    print("\nServer CPU per request, ms (median of every concurrency and round):")
    print("| sentences | " + " | ".join(("LibreTranslate", *hearths)) + " |")
    print("|---|" + "---|" * (1 + len(hearths)))
    for workload in workloads:
        cells = []
        for name in ("LibreTranslate", *hearths):
            group = [cpu_per_request(x) for x in lines
                     if x.server == name and x.workload == workload]  # fmt: skip
            cells.append(f"{statistics.median(group):.2f}" if group else "—")
        print(f"| {WORKLOADS[workload]} | " + " | ".join(cells) + " |")
    cached_cpu = [cpu_per_request(x) for x in cached]
    if cached_cpu:
        print(f"LibreTranslate --translation-cache all, same 20: "
              f"{statistics.median(cached_cpu):.2f} ms")  # fmt: skip
    wrk_cpu = max((x.wrk_cpu for x in lines), default=0.0)
    print(
        "Server CPU at concurrency > 1 (median, share of one core): "
        + ", ".join(f"{k} {v}" for k, v in cpu.items())
        + f"; wrk at most {wrk_cpu:.0%} of one core."
    )
    for h in hearths:
        hits = [f"{x.workload} c={x.concurrency} {x.cache_hits:.0%}" for x in lines
                if x.server == h and x.cache_hits is not None]  # fmt: skip
        if hits:
            print(f"{h} cache hits (one process's counters): " + ", ".join(hits))


def budget(
    lines: list[Line], engine: dict[int, float], hearths: list[str], c: int, cores: int
) -> None:
    """What 1.5x LibreTranslate at the highest concurrency asks of a request's CPU, beside
    what each server spends around the model (its CPU a request less the model's alone)."""

    def median_of(server: str, figure) -> float | None:
        group = [
            figure(x)
            for x in lines
            if x.server == server and x.workload == "pairs" and x.concurrency == c
        ]
        return statistics.median(group) if group else None

    lt_rate = median_of("LibreTranslate", lambda x: x.rate)
    print(f"\nNever-repeated requests at concurrency {c}, CPU ms a request: the model alone "
          f"{engine[1]:.2f} one request a call, {engine[8]:.2f} eight a call")  # fmt: skip
    if lt_rate:
        target = 1.5 * lt_rate
        print(f"1.5 x LibreTranslate = {target:,.0f} req/s: on {cores} cores at most "
              f"{cores * 1000 / target:.2f} ms of CPU a request, all told")  # fmt: skip
    for name, model in (("LibreTranslate", engine[1]), *((h, engine[8]) for h in hearths)):
        cpu = median_of(name, cpu_per_request)
        if cpu is not None:
            print(f"  {name}: {cpu:.2f} ms, of which around the model ~{cpu - model:.2f}")


def find_libretranslate(given: str | None) -> Path | None:
    candidate = given or os.environ.get("LIBRETRANSLATE_BIN") or shutil.which("libretranslate")
    return Path(candidate) if candidate and Path(candidate).is_file() else None


def versions(lt: Path | None) -> str:
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    parts = [f"Hearth {rev or '?'}"]
    if lt is not None:
        done = subprocess.run(
            [str(lt.parent / "python"), "-c",
             "import importlib.metadata as m; print(m.version('libretranslate'),"
             " m.version('ctranslate2'))"],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode == 0 and done.stdout.split():
            lt_version, ct2 = done.stdout.split()
            parts.append(f"LibreTranslate {lt_version} (ctranslate2 {ct2})")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per line")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument(
        "--libretranslate",
        help="the `libretranslate` program of its venv (default: $LIBRETRANSLATE_BIN, or PATH)",
    )
    parser.add_argument(
        "--no-lt-cache", action="store_true",
        help="skip LibreTranslate with --translation-cache all on the same 20 sentences",
    )  # fmt: skip
    parser.add_argument(
        "--hearth", nargs="+", default=["1", "2", "2+back"], metavar="SHAPE",
        help="Hearth shapes to measure: N for `hearth serve --workers N`; N+back with the "
        "es→en model installed too (the quality check's round trip); optionally with "
        "settings, e.g. 1:HEARTH_ARGOS_INTER_THREADS=2,HEARTH_TRANSLATE_BATCH_MAX=0",
    )  # fmt: skip
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    args = parser.parse_args()

    if not shutil.which(args.wrk):
        sys.exit("needs wrk, the HTTP load generator: apt-get install wrk (Debian package)")
    lt_binary = find_libretranslate(args.libretranslate)
    if lt_binary is None:
        print(
            "LibreTranslate not found, measuring Hearth alone; to compare, make its venv: "
            f"python3 -m venv lt && lt/bin/pip install --no-deps -r {LT_LOCK.relative_to(ROOT)}"
            " && pass --libretranslate lt/bin/libretranslate"
        )

    cores = len(os.sched_getaffinity(0))
    print(f"{versions(lt_binary)}; {cores} cores; load average {load_average()}")
    print(
        f"{args.rounds} round(s) × {args.seconds:g} s per line; wrk -t1, keep-alive, closed loop;"
        " each line on a freshly started server after 20 warm-up requests"
    )

    work = Path(tempfile.mkdtemp(prefix="hearth-bench-translate-api-"))
    try:
        lua = work / "post.lua"
        lua.write_text(LUA)
        check_generator(args.wrk, lua, work, 3.0)
        sentences = english_sentences()
        texts = {name: workload_texts(name, sentences) for name in args.workloads}
        shapes = {shape.name: shape for shape in map(Shape.parse, args.hearth)}
        # A prepared data dir and its API key with the forward model only, and with the way
        # back too, as the shapes need them.
        templates = {}
        for way_back in {shape.way_back for shape in shapes.values()}:
            path = work / f"hearth-template-{'both' if way_back else 'en_es'}"
            templates[way_back] = (path, prepare_hearth(path, way_back))
        packages_dir = work / "lt-packages"
        prepare_libretranslate(packages_dir)
        engine = {}
        if "pairs" in args.workloads:
            engine = engine_alone(packages_dir, sentences, 3.0)
            print(
                "the model alone (CTranslate2, one thread, the never-repeated requests): "
                + ", ".join(f"{k} request(s) a call {ms:.2f} ms of CPU a request"
                            for k, ms in engine.items())
            )  # fmt: skip

        def start(name: str):
            if name in shapes:
                template, key = templates[shapes[name].way_back]
                return hearth_server(template, key, work, shapes[name])
            return libretranslate_server(
                lt_binary, packages_dir, work, cache=name == "LibreTranslate + cache"
            )

        servers = (["LibreTranslate"] if lt_binary else []) + list(shapes)
        if lt_binary and "same20" in args.workloads:
            # Same model, same output: one look before the figures mean anything.
            sample = texts["same20"]
            outputs = {}
            for name in servers[:2]:
                with start(name) as server:
                    outputs[name] = [server.translate(t) for t in sample]
            agree = sum(a == b for a, b in zip(*outputs.values(), strict=True))
            print(f"same output from both servers on {agree} of {len(sample)} sentences")

        lines: list[Line] = []
        turn = 0
        for round_no in range(1, args.rounds + 1):
            for workload in args.workloads:
                for c in args.concurrency:
                    shift = turn % len(servers)
                    order = servers[shift:] + servers[:shift]
                    turn += 1
                    for name in order:
                        with start(name) as server:
                            line = measure(
                                server, workload, texts[workload], c, args.seconds,
                                args.wrk, lua, work,
                            )  # fmt: skip
                        lines.append(line)
                        show(line, round_no)
            if lt_binary and not args.no_lt_cache and "same20" in args.workloads:
                for c in args.concurrency:
                    with start("LibreTranslate + cache") as server:
                        line = measure(
                            server, "same20", texts["same20"], c, args.seconds,
                            args.wrk, lua, work,
                        )  # fmt: skip
                    lines.append(line)
                    show(line, round_no)
        summary(lines, args.workloads, args.concurrency, args.rounds, list(shapes))
        if engine:
            budget(lines, engine, list(shapes), max(args.concurrency), cores)
        print(f"load average at the end {load_average()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
