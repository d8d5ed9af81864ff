"""Benchmark: the web UI under load, against a bare FastAPI endpoint measured in the same run.

Builds a SQLite database (``alembic upgrade head``, the shipped catalog and taxonomy, then
bulk inserts: N items with sources, vendor matches and suggested categories, M events linked
to vendors and items, and weekly score snapshots), starts ``kb serve --workers 2`` and a bare
FastAPI app under uvicorn with 2 workers on 127.0.0.1, signs in, and drives C concurrent
clients against each page for a fixed time: with ``wrk`` (C, light; ``apt-get install wrk``)
when it is on PATH, else (or with ``--client python``) with httpx on asyncio, which takes
about a core of its own. Each page is measured twice: as kb ships (the page cache on: pages
are reused while the data is unchanged) and with ``KB_PAGE_CACHE_ENTRIES=0`` (every request
builds its page, as the first view after each change does). Prints the driver used, requests
per second, p50 and p99 per page, the ratio to the baseline, and whether p99 < 100 ms (the
goal, for kb as it ships).

    .venv/bin/python bench/web.py [--items 100000] [--events 10000] [--clients 16]
                                  [--seconds 10] [--keep PATH] [--client auto|wrk|python]
                                  [--skip-uncached]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

GOAL_P99_MS = 100.0
PASSWORD = "bench-password-123"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
WORDS = (
    "lawsuit board ceo license pricing outage model deprecation privacy regulator funding "
    "partnership exclusive cloud open weights api terms policy security breach merger "
    "investigation fine court governance nonprofit restructuring launch release"
)
WORD_LIST = WORDS.split(" ")
BASELINE_APP = """
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

app = FastAPI()


@app.get("/", response_class=HTMLResponse)
def root() -> str:
    return "<!doctype html><title>ok</title><p>ok</p>"
"""


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(path: Path, *, items: int, events: int, seed: int = 11) -> None:
    """Create and fill the benchmark database at ``path``."""
    from sqlmodel import Session

    from kb import migrate
    from kb.config import Settings
    from kb.db import make_engine
    from kb.scoring import service as scoring
    from kb.users import service as users
    from kb.vendors import catalog

    engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
    migrate.upgrade(engine)
    with Session(engine) as session:
        catalog.load_taxonomy(session=session)
        catalog.load_vendors(session=session)
        users.create_user(session=session, username="bench", password=PASSWORD, role="analyst")
        session.commit()
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    cur = con.cursor()
    vendor_ids = [r[0] for r in cur.execute("SELECT id FROM vendor")]
    categories = [r[0] for r in cur.execute("SELECT id FROM category")]
    now = _ts(NOW)
    feeds = 40
    cur.executemany(
        "INSERT INTO feed (id, name, url, kind, reliability, default_tags, include_keywords, "
        "exclude_keywords, enabled, error_count, gone, ill_formed, entries_total, checked_at, "
        "last_success_at, last_status, created_at, updated_at) VALUES (?, ?, ?, 'news', ?, "
        "'[]', '[]', '[]', 1, ?, 0, 0, 0, ?, ?, 200, ?, ?)",
        [
            (
                f,
                f"feed {f}",
                f"https://feed{f}.example.org/rss",
                "ABCDEF"[f % 6],
                1 if f % 13 == 0 else 0,
                now,
                now,
                now,
                now,
            )
            for f in range(1, feeds + 1)
        ],
    )
    span = 2 * 365 * 24 * 3600
    item_rows, src_rows, iv_rows, ic_rows = [], [], [], []
    for i in range(1, items + 1):
        words = " ".join(rng.choice(WORD_LIST) for _ in range(8))
        published = NOW - dt.timedelta(seconds=rng.randrange(span))
        vendor = rng.choice(vendor_ids)
        item_rows.append(
            (
                i,
                f"k{i}",
                f"g{i}",
                f"https://news.example.org/{i}",
                f"Item {i}: {words}",
                f"<p>{words} {words}</p>",
                f"h{i}",
                _ts(published),
                "new" if rng.random() < 0.3 else "triaged",
                _ts(published),
                _ts(published),
            )
        )
        src_rows.append((i, rng.randint(1, feeds), _ts(published)))
        iv_rows.append((i, vendor, "alias", "evidence"))
        ic_rows.append((i, rng.choice(categories), round(rng.uniform(0.3, 0.95), 2)))
    cur.executemany(
        "INSERT INTO item (id, dedup_key, guid, url, title, summary, content_hash, "
        "published_at, published_estimated, status, first_seen_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
        item_rows,
    )
    cur.executemany(
        "INSERT INTO item_source (item_id, feed_id, first_seen_at) VALUES (?, ?, ?)", src_rows
    )
    cur.executemany(
        "INSERT INTO item_vendor (item_id, vendor_id, alias, evidence, score, origin) "
        "VALUES (?, ?, ?, ?, 1.0, 'auto')",
        iv_rows,
    )
    cur.executemany(
        "INSERT INTO item_category (item_id, category_id, confidence, triggers) "
        "VALUES (?, ?, ?, '[]')",
        ic_rows,
    )
    ev_rows, ev_vendor, ev_item = [], [], []
    statuses = ["confirmed"] * 6 + ["suggested"] * 3 + ["dismissed"]
    for e in range(1, events + 1):
        day = (NOW - dt.timedelta(days=rng.randrange(2 * 365))).date()
        ev_rows.append(
            (
                e,
                f"Event {e}: " + " ".join(rng.choice(WORD_LIST) for _ in range(5)),
                rng.choice(categories),
                rng.randint(1, 5),
                day.isoformat(),
                rng.choice(statuses),
                round(rng.uniform(0.4, 1.0), 2),
                now,
                now,
            )
        )
        ev_vendor.append((e, rng.choice(vendor_ids)))
        for item_id in rng.sample(range(1, items + 1), 2):
            ev_item.append((e, item_id))
    cur.executemany(
        "INSERT INTO event (id, title, category_id, severity, occurred_at, status, confidence, "
        "direction_stability, direction_lock_in, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?)",
        ev_rows,
    )
    cur.executemany("INSERT INTO event_vendor (event_id, vendor_id) VALUES (?, ?)", ev_vendor)
    cur.executemany("INSERT OR IGNORE INTO event_item (event_id, item_id) VALUES (?, ?)", ev_item)
    con.commit()
    con.execute("ANALYZE")
    con.close()
    with Session(engine) as session:  # weekly snapshots for the trend lines
        for weeks in range(12, -1, -1):
            scoring.snapshot_scores(session=session, as_of=NOW - dt.timedelta(weeks=weeks))
        session.commit()
    engine.dispose()


def free_port() -> int:
    """A port the OS says is free now (uvicorn's multi-worker mode needs a known port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start a server and wait until it answers."""
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode}); see {log}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start; see {log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server this script started."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def sign_in(base: str) -> httpx.Cookies:
    """Sign in through the real form and return the session cookie."""
    with httpx.Client(base_url=base) as client:
        page = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "no CSRF token on /login"
        # Follow the redirect as a browser does: the first page shows (and so clears) the
        # "signed in" message, and the cookie the clients replay is the steady-state one.
        response = client.post(
            "/login",
            data={"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)},
            follow_redirects=True,
        )
        assert response.status_code == 200, response.status_code
        return client.cookies


async def drive(
    base: str, path: str, *, clients: int, seconds: float, cookies: httpx.Cookies | None
) -> tuple[int, list[float], int]:
    """``clients`` concurrent loops for ``seconds``: (requests, latencies in ms, errors)."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, cookies=cookies, limits=limits) as client:
        warm_until = time.monotonic() + min(2.0, seconds / 5)
        while time.monotonic() < warm_until:
            await client.get(path)
        deadline = time.monotonic() + seconds

        async def loop() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                response = await client.get(path)
                latencies.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    errors += 1

        await asyncio.gather(*(loop() for _ in range(clients)))
    return len(latencies), latencies, errors


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_ms(text: str) -> float:
    """``'9.51ms'`` -> 9.51 (wrk prints us, ms, s or m)."""
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    assert match, f"unexpected wrk latency {text!r}"
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> tuple[int, float, float, float, int]:
    """wrk ``--latency`` output -> (requests, req/s, p50 ms, p99 ms, errors)."""
    requests = re.search(r"^\s*(\d+) requests in ", output, re.M)
    rps = re.search(r"^Requests/sec:\s*([0-9.]+)", output, re.M)
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.M)
    if not (requests and rps and p50 and p99):
        raise SystemExit(f"could not parse wrk output:\n{output}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return (
        int(requests.group(1)),
        float(rps.group(1)),
        _wrk_ms(p50.group(1)),
        _wrk_ms(p99.group(1)),
        errors,
    )


def drive_wrk(
    wrk: str, url: str, *, clients: int, seconds: float, cookies: httpx.Cookies | None
) -> tuple[int, float, float, float, int]:
    """Warm up, then run wrk on ``url``: (requests, req/s, p50 ms, p99 ms, errors)."""
    header = "; ".join(f"{name}={value}" for name, value in (cookies or {}).items())
    # A new connection per warm-up request, so that every worker gets some.
    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(cookies=cookies, limits=no_keepalive) as client:
        warm_until = time.monotonic() + min(2.0, seconds / 5)
        while time.monotonic() < warm_until:
            client.get(url)
    cmd = [wrk, "-t2", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency"]
    if header:
        cmd += ["-H", f"Cookie: {header}"]
    done = subprocess.run([*cmd, url], capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100)."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0, help="per page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database at this path")
    parser.add_argument(
        "--skip-uncached",
        action="store_true",
        help="do not measure the pages again with the page cache off",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk if on PATH (auto), wrk, or httpx on asyncio (python)",
    )
    args = parser.parse_args(argv)
    wrk = shutil.which("wrk") if args.client in ("auto", "wrk") else None
    if args.client == "wrk" and wrk is None:
        raise SystemExit("wrk is not on PATH (apt-get install wrk)")
    if wrk is not None:
        args.seconds = float(max(1, round(args.seconds)))  # wrk takes whole seconds

    def measure(
        label: str, base: str, path: str, cookies: httpx.Cookies | None
    ) -> tuple[str, int, float, float, float, int]:
        if wrk is not None:
            n, rps, p50, p99, err = drive_wrk(
                wrk, base + path, clients=args.clients, seconds=args.seconds, cookies=cookies
            )
            return label, n, rps, p50, p99, err
        n, lat, err = asyncio.run(
            drive(base, path, clients=args.clients, seconds=args.seconds, cookies=cookies)
        )
        return label, n, n / args.seconds, pct(lat, 50), pct(lat, 99), err

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        path = args.keep or tmpdir / "bench.sqlite3"
        if not path.exists():
            t0 = time.perf_counter()
            build(path, items=args.items, events=args.events)
            print(
                f"built {path.name}: {args.items:,} items, {args.events:,} events, "
                f"13 weekly snapshots in {time.perf_counter() - t0:.1f} s"
            )
        env = dict(os.environ)
        env.update(
            KB_DATABASE_URL=f"sqlite:///{path.resolve()}",
            KB_DATA_DIR=str(tmpdir),
            KB_SECRET_KEY="bench-secret-key",
            PYTHONPATH=str(tmpdir),
        )
        (tmpdir / "kb_bench_baseline.py").write_text(BASELINE_APP)
        kb_port, base_port = free_port(), free_port()
        kb_cmd = [
            sys.executable,
            "-m",
            "kb",
            "serve",
            "--port",
            str(kb_port),
            "--workers",
            str(args.workers),
        ]
        base_cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "kb_bench_baseline:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(base_port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
            "--http",  # as kb serve: TCP_NODELAY on each connection (see kb/web/server.py)
            "kb.web.server:NoDelayH11Protocol",
        ]
        results: list[tuple[str, int, float, float, float, int]] = []
        baseline = start(base_cmd, env, base_port, tmpdir / "baseline.log")
        try:
            results.append(
                measure("baseline: bare FastAPI /", f"http://127.0.0.1:{base_port}", "/", None)
            )
        finally:
            stop(baseline)
        pages = [
            ("dashboard /", "/"),
            ("inbox /inbox", "/inbox"),
            ("vendor page /vendors/openai", "/vendors/openai"),
        ]
        # kb as it ships (page cache on), then with the page cache off: what every page
        # costs when it has to be built (the first view after each change).
        runs = [("", {})]
        if not args.skip_uncached:
            runs.append((" (no cache)", {"KB_PAGE_CACHE_ENTRIES": "0"}))
        for suffix, extra in runs:
            server = start(kb_cmd, {**env, **extra}, kb_port, tmpdir / "kb.log")
            try:
                base = f"http://127.0.0.1:{kb_port}"
                cookies = sign_in(base)
                for label, page in pages:
                    results.append(measure(label + suffix, base, page, cookies))
            finally:
                stop(server)

    base_rps, base_p50, base_p99 = results[0][2], results[0][3], results[0][4]
    driver = f"wrk ({wrk}, 2 threads)" if wrk else "python (httpx, asyncio)"
    print(
        f"\n{args.clients} concurrent clients, {args.workers} workers, {args.seconds:g} s per "
        f"page, SQLite, {os.cpu_count()} CPUs, load generator: {driver}"
    )
    print(
        f"{'page':<40}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'rps ratio':>11}{'p99 ratio':>11}{'errors':>8}"
    )
    ok = True
    for label, n, rps, p50, p99, err in results:
        print(
            f"{label:<40}{n:>9}{rps:>9.0f}{p50:>9.1f}{p99:>9.1f}"
            f"{rps / base_rps:>11.2f}{p99 / base_p99:>11.1f}{err:>8}"
        )
        if not label.startswith("baseline") and not label.endswith("(no cache)"):
            ok = ok and p99 < GOAL_P99_MS and err == 0
    del base_p50
    print(
        f"\ngoal p99 < {GOAL_P99_MS:.0f} ms on every page (as kb ships, page cache on): "
        f"{'MET' if ok else 'NOT MET'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
