"""Stage 1, fetch: HTTP only. Bounded concurrency, timeouts, a body size cap, conditional GET,
redirects (a permanent one reports the new URL), 410, Retry-After; never raises for one feed.

Requests run on a small pool of threads over urllib3 connection pools (keep-alive per host);
results are handed to the caller as they complete (``iter_fetch``), so parsing and storing
overlap with the network.
"""

from __future__ import annotations

import contextlib
import email.utils
import queue
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, overload
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
from urllib3 import exceptions as u3

from kb import __version__ as kb_version

DEFAULT_USER_AGENT = (
    f"kb/{kb_version} (LLM vendor risk knowledge base; feed reader; +https://example.invalid/kb)"
)
PERMANENT = (301, 308)
REDIRECTS = (301, 302, 303, 307, 308)
MAX_RETRY_AFTER = 7 * 24 * 3600.0
CHUNK = 16 * 1024  # raw bytes per read: bounds what one gzip chunk can inflate to
DRAIN = 64 * 1024  # a non-200 body up to this size is read so the connection can be reused


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
    ca_file: str | None = None  # PEM file of the only CAs trusted; None: certifi's bundle


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


class _TimedOut(Exception):
    pass


class _TooManyRedirects(Exception):
    pass


_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)


class Transport:
    """urllib3 pools for one fetch run: direct, or through the environment's proxies."""

    def __init__(self, options: FetchOptions) -> None:
        self.options = options
        self.proxies = urllib.request.getproxies() if options.trust_env else {}
        self._managers: dict[str | None, urllib3.PoolManager] = {}
        self._lock = threading.Lock()
        self.headers = {
            "User-Agent": options.user_agent,
            "Accept": _ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        }

    def _proxy_for(self, url: str) -> str | None:
        parts = urlsplit(url)
        proxy = self.proxies.get(parts.scheme) or self.proxies.get("all")
        if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
            return None
        return proxy

    def manager_for(self, url: str) -> urllib3.PoolManager:
        """The pool manager that should carry a request to ``url``."""
        proxy = self._proxy_for(url)
        with self._lock:
            if proxy not in self._managers:
                self._managers[proxy] = self._make(proxy)
            return self._managers[proxy]

    def _make(self, proxy: str | None) -> urllib3.PoolManager:
        kw: dict[str, Any] = {
            "num_pools": max(10, self.options.concurrency * 2),
            "maxsize": self.options.concurrency,
            "cert_reqs": "CERT_REQUIRED",
        }
        ca_certs = self.options.ca_file or _ca_certs()
        if ca_certs:
            kw["ca_certs"] = ca_certs
        if proxy is None:
            return urllib3.PoolManager(**kw)
        auth = urllib3.util.parse_url(proxy).auth
        if auth:
            kw["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=unquote(auth))
        return urllib3.ProxyManager(proxy, **kw)

    def close(self) -> None:
        with self._lock:
            for manager in self._managers.values():
                manager.clear()
            self._managers.clear()


def _ca_certs() -> str | None:
    """certifi's CA bundle when installed, else None (the system's trust store)."""
    try:
        import certifi
    except ImportError:
        return None
    return str(certifi.where())


class CAFileError(ValueError):
    """The CA bundle configured for HTTPS verification cannot be used."""


def check_ca_file(path: str) -> None:
    """Raise CAFileError unless ``path`` is a readable PEM bundle holding a certificate."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except ssl.SSLError as exc:
        raise CAFileError(f"{path}: no PEM certificate found in it ({exc.reason})") from exc
    except OSError as exc:
        raise CAFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def make_transport(options: FetchOptions) -> Transport:
    """Connection pools with kb's User-Agent, Accept, TLS verification and proxies."""
    return Transport(options)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _TimedOut
    return left


def _conditional_headers(req: FetchRequest) -> dict[str, str]:
    headers = {}
    if req.etag:
        headers["If-None-Match"] = req.etag
    if req.last_modified:
        headers["If-Modified-Since"] = req.last_modified
    return headers


def _open(
    transport: Transport, req: FetchRequest, deadline: float
) -> tuple[urllib3.BaseHTTPResponse, str, bool]:
    """GET the feed, following redirects; (response, final URL, every hop was permanent)."""
    options = transport.options
    url = req.url
    hops: list[int] = []
    while True:
        left = _remaining(deadline)
        resp = transport.manager_for(url).request(
            "GET",
            url,
            headers={**transport.headers, **_conditional_headers(req)},
            timeout=urllib3.Timeout(connect=min(options.connect_timeout, left), read=left),
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=True,
        )
        location = resp.headers.get("location")
        if resp.status not in REDIRECTS or not location:
            return resp, url, bool(hops) and all(s in PERMANENT for s in hops)
        _release(resp, deadline)
        hops.append(resp.status)
        if len(hops) > options.max_redirects:
            raise _TooManyRedirects
        url = urljoin(url, location)


def _read(resp: urllib3.BaseHTTPResponse, deadline: float, limit: int) -> Iterator[bytes]:
    """Decoded body chunks; every socket read waits at most until the feed's deadline."""
    sock = getattr(resp.connection, "sock", None)
    size = 0
    while True:
        if sock is not None:
            sock.settimeout(_remaining(deadline))
        chunk = resp.read1(CHUNK)
        if not chunk:
            return
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        _remaining(deadline)
        yield chunk


def _release(resp: urllib3.BaseHTTPResponse, deadline: float) -> None:
    """Read a small leftover body so the connection is reused; otherwise drop the connection."""
    left = getattr(resp, "length_remaining", None)  # 0 for a 304, None when unknown
    if left is not None and left <= DRAIN:
        with contextlib.suppress(Exception):  # a broken leftover body only costs the connection
            for _ in _read(resp, deadline, DRAIN):
                pass
            resp.release_conn()
            return
    resp.close()
    resp.release_conn()


def _fetch(transport: Transport, req: FetchRequest, result: FetchResult, deadline: float) -> None:
    resp, url, permanent = _open(transport, req, deadline)
    result.status = resp.status
    result.headers = {k.lower(): v for k, v in resp.headers.items()}
    result.final_url = url
    result.permanent_url = url if permanent else None
    result.etag = resp.headers.get("etag")
    result.last_modified = resp.headers.get("last-modified")
    if resp.status != 200:
        _release(resp, deadline)
        return
    limit = transport.options.max_bytes
    try:
        length = resp.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise _TooLarge
        result.body = b"".join(_read(resp, deadline, limit))
        resp.release_conn()
    except BaseException:
        resp.close()
        resp.release_conn()
        raise


def _cause(exc: BaseException) -> str:
    """The plain reason behind a urllib3 connection error (e.g. 'Connection refused')."""
    inner = exc.__cause__ or exc.__context__
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    return str(inner or exc)


def _describe(exc: BaseException, options: FetchOptions) -> str:
    if isinstance(exc, _TooLarge):
        return f"body larger than {options.max_bytes} bytes; not read"
    if isinstance(exc, _TooManyRedirects):
        return f"more than {options.max_redirects} redirects"
    if isinstance(exc, u3.NameResolutionError):
        return f"cannot connect: host name not found ({_cause(exc)})"
    if isinstance(exc, u3.NewConnectionError):
        return f"cannot connect: {_cause(exc)}"
    if isinstance(exc, _TimedOut | u3.TimeoutError | TimeoutError):
        return f"timed out after {options.timeout:g} s"
    if isinstance(exc, u3.SSLError):
        return _describe_tls(exc, options)
    if isinstance(exc, u3.ProxyError):
        return f"proxy error: {_cause(exc)}"
    if isinstance(exc, u3.DecodeError):
        return f"cannot decode the response body: {exc}"
    if isinstance(exc, u3.ProtocolError):
        return f"connection broken: {_cause(exc)}"
    return f"{type(exc).__name__}: {exc}"


# OpenSSL verify codes meaning "signed by no CA in the trust store" (unknown issuer,
# self-signed leaf or chain, leaf without its issuer).
_UNTRUSTED = frozenset({2, 18, 19, 20, 21})


def _describe_tls(exc: u3.SSLError, options: FetchOptions) -> str:
    """A TLS failure in plain words: which certificate check failed, and what to do."""
    inner = exc.__cause__ or exc.__context__
    if isinstance(inner, ssl.SSLCertVerificationError):
        text = f"TLS error: certificate verify failed: {inner.verify_message}"
        if inner.verify_code in _UNTRUSTED:
            trusted = f"the CAs in {options.ca_file}" if options.ca_file else "a CA kb trusts"
            text += f" (the certificate is not signed by {trusted}; see KB_INGEST_CA_FILE)"
        return text
    if isinstance(inner, OSError) and not isinstance(inner, ssl.SSLError) and options.ca_file:
        return f"TLS error: cannot load the CA file {options.ca_file}: {_cause(exc)}"
    return f"TLS error: {exc}"


def _status_error(result: FetchResult) -> str | None:
    status = result.status or 0
    if status in (429, 503):
        result.retry_after = parse_retry_after(result.headers.get("retry-after"))
        wait = f"; retry after {result.retry_after:.0f} s" if result.retry_after else ""
        return f"HTTP {status} {_reason(status)}{wait}"
    if status == 410:
        return "HTTP 410 Gone: the feed was removed; disable or replace it"
    if status not in (200, 304):
        return f"HTTP {status} {_reason(status)}"
    return None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _fetch_one(transport: Transport, req: FetchRequest) -> FetchResult:
    result = FetchResult(request=req)
    started = time.monotonic()
    try:
        _fetch(transport, req, result, started + transport.options.timeout)
    except Exception as exc:  # one feed's failure is a result, never a crash of the run
        result.error = _describe(exc, transport.options)
        result.body = b""
    else:
        result.error = _status_error(result)
    result.elapsed = time.monotonic() - started
    return result


_DONE = object()


def _dispatch(
    reqs: list[FetchRequest],
    options: FetchOptions,
    out: queue.Queue[Any],
    slots: threading.Semaphore,
    stop: threading.Event,
) -> None:
    """Hand the requests to ``options.concurrency`` threads; each waits for a free slot first."""
    transport = make_transport(options)

    def one(req: FetchRequest) -> None:
        try:
            out.put(_fetch_one(transport, req))
        except BaseException as exc:  # a bug, not a feed's failure: surfaced to the caller
            out.put(exc)

    try:
        with ThreadPoolExecutor(options.concurrency, thread_name_prefix="kb-fetch") as pool:
            for req in reqs:
                # Back-pressure: at most a few bodies wait for the consumer, so a slow consumer
                # never holds every feed in memory at once.
                slots.acquire()
                if stop.is_set():
                    break
                pool.submit(one, req)
    except BaseException as exc:
        out.put(exc)
    finally:
        transport.close()
        out.put(_DONE)


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
    results in completion order. The network runs in background threads. With ``idle``, yield
    None whenever no result came for that many seconds (so the caller can do other work)."""
    reqs = list(requests)
    if not reqs:
        return
    out: queue.Queue[Any] = queue.Queue()
    slots = threading.Semaphore(options.concurrency * 4)
    stop = threading.Event()
    thread = threading.Thread(
        target=_dispatch, args=(reqs, options, out, slots, stop), name="kb-fetch", daemon=True
    )
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
        stop.set()  # a consumer that stopped early must not leave fetches waiting
        slots.release(len(reqs))
        thread.join(timeout=options.timeout + 5)


def fetch_one(request: FetchRequest, options: FetchOptions | None = None) -> FetchResult:
    """Fetch a single feed (convenience for tests and scripts)."""
    return next(iter(iter_fetch([request], options or FetchOptions())))
