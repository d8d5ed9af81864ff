"""Stage 1, fetch: HTTP only. Bounded concurrency, timeouts, a body size cap, conditional GET,
redirects (a permanent one reports the new URL), 410, Retry-After; never raises for one feed.

Requests run on an asyncio loop in a background thread; results are handed to the caller as
they complete (``iter_fetch``), so parsing and storing overlap with the network.
"""

from __future__ import annotations

import asyncio
import email.utils
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, overload

import httpx

from kb import __version__ as kb_version

DEFAULT_USER_AGENT = (
    f"kb/{kb_version} (LLM vendor risk knowledge base; feed reader; +https://example.invalid/kb)"
)
PERMANENT = (301, 308)
MAX_RETRY_AFTER = 7 * 24 * 3600.0


@dataclass(frozen=True)
class FetchOptions:
    """How to fetch: limits that keep one bad server from hurting the run."""

    timeout: float = 30.0  # whole request, body included
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024  # decoded body size cap
    concurrency: int = 8
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
    trust_env: bool = True  # proxies from HTTP(S)_PROXY / NO_PROXY


@dataclass(frozen=True)
class FetchRequest:
    """One feed to fetch, with its validators for a conditional GET."""

    key: Any
    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FetchResult:
    """What happened; ``error`` is set for every outcome that is not a usable feed body or 304."""

    request: FetchRequest
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    final_url: str | None = None
    permanent_url: str | None = None  # set when every redirect hop was permanent
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None  # seconds, from 429/503
    error: str | None = None
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def gone(self) -> bool:
        return self.status == 410

    @property
    def ok(self) -> bool:
        return self.error is None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    delta = when.timestamp() - (now if now is not None else time.time())
    return min(max(delta, 0.0), MAX_RETRY_AFTER)


class _TooLarge(Exception):
    pass


def _describe(exc: BaseException, options: FetchOptions) -> str:
    if isinstance(exc, _TooLarge):
        return f"body larger than {options.max_bytes} bytes; not read"
    if isinstance(exc, asyncio.TimeoutError | httpx.TimeoutException):
        return f"timed out after {options.timeout:g} s"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"more than {options.max_redirects} redirects"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc or type(exc).__name__}"
    if isinstance(exc, httpx.DecodingError):
        return f"cannot decode the response body: {exc}"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def _fetch_one(
    client: httpx.AsyncClient, req: FetchRequest, options: FetchOptions
) -> FetchResult:
    result = FetchResult(request=req)
    headers = {}
    if req.etag:
        headers["If-None-Match"] = req.etag
    if req.last_modified:
        headers["If-Modified-Since"] = req.last_modified
    started = time.monotonic()

    async def go() -> None:
        async with client.stream("GET", req.url, headers=headers) as resp:
            result.status = resp.status_code
            result.headers = {k.lower(): v for k, v in resp.headers.items()}
            result.final_url = str(resp.url)
            if resp.history and all(r.status_code in PERMANENT for r in resp.history):
                result.permanent_url = str(resp.url)
            result.etag = resp.headers.get("etag")
            result.last_modified = resp.headers.get("last-modified")
            if resp.status_code != 200:
                # Drain a small body so the connection can be reused (a 304 has none).
                drained = 0
                async for chunk in resp.aiter_bytes():
                    drained += len(chunk)
                    if drained > 65536:
                        break
                return
            length = resp.headers.get("content-length")
            if length and length.isdigit() and int(length) > options.max_bytes:
                raise _TooLarge
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > options.max_bytes:
                    raise _TooLarge
                chunks.append(chunk)
            result.body = b"".join(chunks)

    try:
        await asyncio.wait_for(go(), timeout=options.timeout)
    except Exception as exc:  # one feed's failure is a result, never a crash of the run
        result.error = _describe(exc, options)
        result.body = b""
    result.elapsed = time.monotonic() - started
    if result.error is None:
        status = result.status or 0
        if status in (429, 503):
            result.retry_after = parse_retry_after(result.headers.get("retry-after"))
            wait = f"; retry after {result.retry_after:.0f} s" if result.retry_after else ""
            result.error = f"HTTP {status} {_reason(status)}{wait}"
        elif status == 410:
            result.error = "HTTP 410 Gone: the feed was removed; disable or replace it"
        elif status not in (200, 304):
            result.error = f"HTTP {status} {_reason(status)}"
    return result


def _reason(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def make_client(options: FetchOptions) -> httpx.AsyncClient:
    """An async client with kb's User-Agent, timeouts, redirects and connection limits."""
    return httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=options.max_redirects,
        timeout=httpx.Timeout(
            options.timeout, connect=min(options.connect_timeout, options.timeout)
        ),
        headers={"User-Agent": options.user_agent, "Accept": _ACCEPT},
        limits=httpx.Limits(
            max_connections=options.concurrency, max_keepalive_connections=options.concurrency
        ),
        trust_env=options.trust_env,
    )


_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)


async def _run(
    requests: list[FetchRequest],
    options: FetchOptions,
    out: queue.Queue[Any],
    slots: threading.Semaphore,
) -> None:
    sem = asyncio.Semaphore(options.concurrency)
    loop = asyncio.get_running_loop()
    async with make_client(options) as client:

        async def one(req: FetchRequest) -> None:
            # Back-pressure: at most a few bodies wait for the consumer, so a slow consumer
            # never holds every feed in memory at once.
            await loop.run_in_executor(None, slots.acquire)
            async with sem:
                result = await _fetch_one(client, req, options)
            out.put(result)

        await asyncio.gather(*(one(r) for r in requests))


_DONE = object()


@overload
def iter_fetch(
    requests: Iterable[FetchRequest], options: FetchOptions, idle: None = None
) -> Iterator[FetchResult]: ...


@overload
def iter_fetch(
    requests: Iterable[FetchRequest], options: FetchOptions, idle: float
) -> Iterator[FetchResult | None]: ...


def iter_fetch(
    requests: Iterable[FetchRequest], options: FetchOptions, idle: float | None = None
) -> Iterator[FetchResult | None]:
    """Fetch every request concurrently (at most ``options.concurrency`` at once) and yield the
    results in completion order. The network runs in a background thread. With ``idle``, yield
    None whenever no result came for that many seconds (so the caller can do other work)."""
    reqs = list(requests)
    if not reqs:
        return
    out: queue.Queue[Any] = queue.Queue()
    slots = threading.Semaphore(options.concurrency * 4)

    def worker() -> None:
        try:
            asyncio.run(_run(reqs, options, out, slots))
        except BaseException as exc:  # surfaced to the caller below
            out.put(exc)
        finally:
            out.put(_DONE)

    thread = threading.Thread(target=worker, name="kb-fetch", daemon=True)
    thread.start()
    try:
        while True:
            try:
                got = out.get(timeout=idle)
            except queue.Empty:
                yield None
                continue
            if got is _DONE:
                break
            if isinstance(got, BaseException):
                raise got
            yield got
            slots.release()
    finally:
        for _ in reqs:  # a consumer that stopped early must not leave fetches waiting
            slots.release()
        thread.join(timeout=options.timeout + 5)


def fetch_one(request: FetchRequest, options: FetchOptions | None = None) -> FetchResult:
    """Fetch a single feed (convenience for tests and scripts)."""
    return next(iter(iter_fetch([request], options or FetchOptions())))
