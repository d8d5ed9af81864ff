"""Benchmark: end-to-end ingestion vs feedparser alone, and the cost of an all-304 re-run.

A loopback HTTP server serves 200 feeds x 50 entries (RSS 2.0, ~1 kB HTML per entry, titles
naming vendors). In the same run we measure:

1. baseline: ``feedparser.parse`` on the same bytes (already in memory, default options), entries/s;
2. kb: ``run_ingest`` end to end — HTTP fetch, parse, normalize, sanitize, match, tag, store in a
   fresh SQLite database (one transaction per feed) — entries/s, and its ratio to the baseline
   (goal >= 0.8);
3. kb again on unchanged feeds: every feed answers 304 (ETag), and the speed-up over the first
   run (goal >= 20x).

Wall-clock figures depend on what else the machine is doing; the CPU-time ratio (kb's CPU
includes its fetch thread and its parse worker processes) is printed too. The server runs in a
separate process so it does not compete with kb for the interpreter lock.

Run: ``.venv/bin/python bench/ingest.py [--feeds 200] [--entries 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402
import yaml  # noqa: E402

from kb import migrate  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.db import make_engine, session_scope  # noqa: E402
from kb.ingest.fetch import FetchOptions  # noqa: E402
from kb.ingest.run import run_ingest  # noqa: E402
from kb.vendors import catalog  # noqa: E402

SUBJECTS = [
    "OpenAI",
    "Anthropic's Claude",
    "Google DeepMind",
    "Meta's Llama team",
    "Mistral AI",
    "Microsoft Copilot",
    "Amazon Bedrock",
    "xAI",
    "DeepSeek",
    "Cohere",
    "a startup",
    "regulators",
]
VERBS = [
    "is sued in a class action over training data",
    "cuts API prices per million tokens",
    "announces a new CEO after the founder steps down",
    "raises a funding round at a new valuation",
    "deprecates a legacy model",
    "updates its usage policy",
    "reports an outage with elevated error rates",
    "signs an exclusive cloud partnership",
    "releases open weights under Apache 2.0",
    "faces an antitrust probe by the FTC",
    "publishes a research paper",
    "opens an office in Paris",
]
FILLER = (
    "<p>The company said on Tuesday that the change would take effect next month. "
    "<a href='https://example.test/more?utm_source=rss'>Read more</a> about the details, "
    "which analysts called <em>significant</em> for enterprise customers.</p>"
    "<p>Customers in regulated sectors will want to review their contracts, data processing "
    "terms and exit plans; several said they were evaluating alternatives.</p>"
)


def make_feed(f: int, entries: int) -> bytes:
    items = []
    for e in range(entries):
        n = f * entries + e
        title = f"{SUBJECTS[n % len(SUBJECTS)]} {VERBS[(n // 7) % len(VERBS)]} ({n})"
        body = f"<p>{escape(title)}.</p>" + FILLER * 2
        items.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>https://news{f}.example.test/{n}?utm_medium=feed</link>"
            f"<guid isPermaLink='false'>urn:bench:{n}</guid>"
            f"<pubDate>Mon, {e % 28 + 1:02d} Sep 2026 10:{e % 60:02d}:00 GMT</pubDate>"
            f"<description>{escape(body)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {f}</title><link>https://news{f}.example.test/</link>"
        f"<description>bench</description>{''.join(items)}</channel></rss>"
    ).encode()


async def _handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, bodies: dict[str, bytes]
) -> None:
    """A minimal HTTP/1.1 keep-alive responder: 200 with an ETag, 304 when it matches."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = bodies.get(path)
            etag = f'"{path}"'
            if body is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            elif headers.get("if-none-match") == etag:
                writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n".encode())
            else:
                writer.write(
                    (
                        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
                        f"ETag: {etag}\r\nContent-Length: {len(body)}\r\n\r\n"
                    ).encode()
                    + body
                )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _serve_forever(bodies: dict[str, bytes], port: Any) -> None:
    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: _handle(r, w, bodies), "127.0.0.1", 0, backlog=256
        )
        port.value = server.sockets[0].getsockname()[1]
        await server.serve_forever()

    asyncio.run(main())


def serve_in_process(bodies: dict[str, bytes]) -> tuple[mp.Process, int]:
    """The feed server (asyncio, one thread) in a process of its own, so it neither competes
    with kb for the interpreter lock nor adds thread-switching latency of its own."""
    port = mp.Value("i", 0)
    proc = mp.Process(target=_serve_forever, args=(bodies, port), daemon=True)
    proc.start()
    while port.value == 0:
        time.sleep(0.01)
    return proc, port.value


def baseline(bodies: dict[str, bytes]) -> tuple[float, float, int]:
    """feedparser alone on the bytes: (wall seconds, CPU seconds, entries)."""
    started, cpu = time.perf_counter(), time.process_time()
    parsed = sum(len(feedparser.parse(io.BytesIO(b)).entries) for b in bodies.values())
    return time.perf_counter() - started, time.process_time() - cpu, parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="kb's parse processes (default 2)")
    args = parser.parse_args()
    bodies = {f"/feed/{f}.xml": make_feed(f, args.entries) for f in range(args.feeds)}
    total = args.feeds * args.entries
    size = sum(len(b) for b in bodies.values())
    print(
        f"bench/ingest: {args.feeds} feeds x {args.entries} entries = {total} entries, "
        f"{size / 1e6:.1f} MB of RSS; loopback HTTP server in its own process; SQLite; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}"
    )

    # The baseline runs before and after kb, and the two are averaged, so a change in the
    # machine's load during the run does not favour either side.
    base_wall, base_cpu, parsed = baseline(bodies)
    assert parsed == total, parsed

    server, port = serve_in_process(bodies)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        feeds_file = tmp_path / "feeds.yaml"
        feeds = [
            {"name": f"bench {f}", "url": f"http://127.0.0.1:{port}{path}"}
            for f, path in enumerate(bodies)
        ]
        feeds_file.write_text(yaml.safe_dump({"version": 1, "feeds": feeds}))
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'kb.sqlite3'}", data_dir=tmp_path)
        engine = make_engine(settings)
        migrate.upgrade(engine)
        with session_scope(engine) as session:
            catalog.load_taxonomy(session=session)
            catalog.load_vendors(session=session)
        options = FetchOptions(timeout=30, concurrency=8, trust_env=False)

        shares: list[tuple[float, float]] = []

        def ingest() -> tuple[Any, float, float]:
            started, cpu, kids = time.perf_counter(), time.process_time(), os.times()
            report = run_ingest(
                engine=engine,
                settings=settings,
                feeds_path=feeds_file,
                options=options,
                workers=args.workers,
            )
            now = os.times()
            child = (now.children_user + now.children_system) - (
                kids.children_user + kids.children_system
            )
            shares.append((time.process_time() - cpu, child))
            return report, time.perf_counter() - started, time.process_time() - cpu + child

        first, kb_wall, kb_cpu = ingest()
        assert first.exit_code == 0 and first.total("new") == total, first.to_dict()["totals"]
        second, again, _cpu = ingest()
        assert second.total("new") == 0
        assert all(f.status == "not-modified" for f in second.feeds)
        engine.dispose()
    server.terminate()
    wall2, cpu2, _n = baseline(bodies)
    base_wall, base_cpu = (base_wall + wall2) / 2, (base_cpu + cpu2) / 2

    print(
        f"  feedparser.parse alone (bytes in memory): {base_wall:6.2f} s "
        f"{total / base_wall:7.0f} entries/s  (CPU {base_cpu:.2f} s)"
    )
    print(
        f"  kb ingest, first run, end to end:         {kb_wall:6.2f} s "
        f"{total / kb_wall:7.0f} entries/s  (CPU {kb_cpu:.2f} s: main process "
        f"{shares[0][0]:.2f} s, {args.workers} parse workers {shares[0][1]:.2f} s)"
    )
    print(f"  kb ingest, second run, every feed 304:    {again:6.2f} s")
    ratio = base_wall / kb_wall
    speedup = kb_wall / again
    print(
        f"  throughput kb / feedparser alone: {ratio:5.2f}  (goal >= 0.80: "
        f"{'met' if ratio >= 0.8 else 'NOT met'}); CPU-time ratio {base_cpu / kb_cpu:.2f}"
    )
    print(
        f"  all-304 run faster than the first: {speedup:5.1f}x (goal >= 20x: "
        f"{'met' if speedup >= 20 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
