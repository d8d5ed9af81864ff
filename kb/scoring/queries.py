"""The heavy SQL of scoring: every event's contribution computed in the database and summed
per vendor in one pass, so a full rescore never moves events into Python one by one.

Two queries, written for SQLite and PostgreSQL alike (same arithmetic, same inputs):

- :func:`aggregate_events` returns, per vendor and dimension, the sums of the positive and
  negative contributions and the number of events that count, plus a histogram of |c| (four
  buckets per halving) used to find each vendor's top-N threshold;
- :func:`candidate_events` returns the events whose |c| can reach a threshold (an upper
  bound computed per event, no joins), so only the top N of each vendor are loaded.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session

from kb.scoring.model import EventTotals
from kb.scoring.weights import GRADES, ScoringWeights

LN2 = math.log(2)
BUCKETS_PER_HALVING = 4
# Buckets of b below 2**-4 are merged: top-N events are rarely that faint.
MIN_BUCKET = -4 * 4
_BUCKET_SCALE = BUCKETS_PER_HALVING / LN2
# Group keys pack (vendor, category, directions, bucket) into one integer (see decode_group):
# category ids below CATEGORY_SPAN, buckets MIN_BUCKET..0 (b <= 1) below BUCKET_SPAN.
CATEGORY_SPAN = 1_000_000
BUCKET_SPAN = 100
_EPOCH = dt.date(1970, 1, 1)
SORTER_THREADS = 4


def bucket_floor(bucket: int) -> float:
    """The smallest |c| that falls in histogram bucket ``bucket``."""
    return math.exp(bucket / _BUCKET_SCALE)


@dataclass
class Aggregate:
    """Per vendor and dimension: totals, and the |c| histogram per sign."""

    totals: dict[int, dict[str, EventTotals]] = field(default_factory=dict)
    # (vendor, dimension, sign) -> {smallest |c| of a bucket: events}
    histograms: dict[tuple[int, str, int], dict[float, int]] = field(default_factory=dict)
    # With an id floor: (event, vendor, c stability, c lock-in) of every counted link whose
    # |c| reaches the floor in a dimension (what candidate_events would return for them), and
    # whether that list is complete (False when a b fell outside the exact encoding's range).
    listed: list[tuple[int, int, float, float]] = field(default_factory=list)
    listed_complete: bool = True


@dataclass(frozen=True)
class Filters:
    """Which events count: status, merged, date, what-if overrides, vendors."""

    day: dt.date
    statuses: tuple[str, ...]
    include_ids: tuple[int, ...] = ()  # overridden to a counted status
    exclude_ids: tuple[int, ...] = ()  # overridden to a status that does not count
    vendor_ids: tuple[int, ...] | None = None


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _day_number(dialect: str, column: str) -> str:
    """Whole days since 1970-01-01 (SQLite: via julianday; exact for date-only values)."""
    if dialect == "sqlite":
        return f"(julianday({column}) - 2440587.5)"
    return f"({column} - DATE '1970-01-01')"


def _fence(dialect: str) -> str:
    """Keeps the database from inlining a subquery (and evaluating expressions twice)."""
    return "LIMIT -1" if dialect == "sqlite" else "OFFSET 0"


def _where(filters: Filters, params: dict[str, Any], *, sqlite: bool) -> tuple[str, list[Any]]:
    """The event filter and its expanding bind parameters."""
    params["day"] = filters.day.isoformat() if sqlite else filters.day
    params["statuses"] = list(filters.statuses)
    expanding: list[Any] = [bindparam("statuses", expanding=True)]
    status = "e.status IN :statuses"
    if filters.exclude_ids:
        status += " AND e.id NOT IN :exclude_ids"
        params["exclude_ids"] = list(filters.exclude_ids)
        expanding.append(bindparam("exclude_ids", expanding=True))
    if filters.include_ids:
        status = f"({status}) OR e.id IN :include_ids"
        params["include_ids"] = list(filters.include_ids)
        expanding.append(bindparam("include_ids", expanding=True))
    where = f"e.merged_into_id IS NULL AND e.occurred_at <= :day AND ({status})"
    return where, expanding


def _reliability_case(weights: ScoringWeights, column: str, params: dict[str, Any]) -> str:
    """SQL for the reliability multiplier of a grade column (bound values, no literals)."""
    rel = weights.reliability
    for g in GRADES:
        params[f"rel_{g}"] = float(rel.grades[g])
    params["rel_default"] = float(rel.grades[rel.default_grade])
    whens = " ".join(f"WHEN '{g}' THEN :rel_{g}" for g in GRADES)
    return (
        f"(CASE WHEN {column} IS NULL THEN :rel_default "
        f"ELSE (CASE upper({column}) {whens} ELSE :rel_F END) END)"
    )


def aggregate_events(
    *, session: Session, filters: Filters, weights: ScoringWeights, id_floor: float | None = None
) -> Aggregate:
    """Sum every counted event's contribution per vendor and dimension, in one pass.

    SQL groups by (vendor, category, directions, bucket of b) where ``b = severity/5 *
    confidence * reliability * decay`` and sums ``b``; since ``c = direction * weight * b``
    with one weight per category, Python turns the few group rows into exact totals per sign
    and a histogram of |c| (buckets below ``MIN_BUCKET`` are merged into one)."""
    dialect = _dialect(session)
    params: dict[str, Any] = {
        "as_of_day": (filters.day - _EPOCH).days,
        "ln2": LN2,
        "bk": _BUCKET_SCALE,
        "min_bucket": MIN_BUCKET,
    }
    where, expanding = _where(filters, params, sqlite=dialect == "sqlite")
    vendor_filter = ""
    if filters.vendor_ids is not None:
        vendor_filter = "AND ev.vendor_id IN :vendor_ids"
        params["vendor_ids"] = list(filters.vendor_ids)
        expanding.append(bindparam("vendor_ids", expanding=True))
    sqlite = dialect == "sqlite"
    event_from = "event AS e NOT INDEXED" if sqlite else "event AS e"
    join = "CROSS JOIN" if sqlite else "JOIN"
    fence = _fence(dialect)
    day_num = _day_number(dialect, "e.occurred_at")
    rel_case = _reliability_case(weights, "e.source_grade", params)
    greatest = "max" if sqlite else "greatest"
    cid, listed = _listed_columns(params, id_floor, sqlite=sqlite)
    # Only constant SQL fragments are interpolated; every value is a bound parameter.
    sql = f"""
SELECT g, count(*) AS n, sum(b) AS sum_b, {listed} FROM (
  SELECT b, {cid}, CASE WHEN b > 0 THEN
      ((((CAST(v AS BIGINT) * {CATEGORY_SPAN} + k) * 3 + ds + 1) * 3 + dl + 1) * {BUCKET_SPAN}
       + {greatest}(CAST(floor(ln(b) * :bk) AS INTEGER), :min_bucket) - :min_bucket) END AS g
  FROM (
      SELECT ev.vendor_id AS v, e.category_id AS k, e.direction_stability AS ds,
        e.direction_lock_in AS dl, e.id AS id,
        e.direction_stability * c.weight_stability AS ws,
        e.direction_lock_in * c.weight_lock_in AS wl,
        e.severity / 5.0 * e.confidence * {rel_case}
          * exp(-(:as_of_day - {day_num}) * :ln2 / c.half_life_days) AS b
      FROM {event_from} {join} category c ON c.id = e.category_id
        {join} event_vendor ev ON ev.event_id = e.id
      WHERE {where} {vendor_filter} {fence}
  ) y
) z GROUP BY g"""  # noqa: S608
    query = text(sql).bindparams(*expanding)
    if sqlite:  # let SQLite's sorter (the GROUP BY) use helper threads; a per-connection hint
        session.execute(text(f"PRAGMA threads = {SORTER_THREADS}"))
    category_weights = {
        r[0]: (float(r[1]), float(r[2]))
        for r in session.execute(text("SELECT id, weight_stability, weight_lock_in FROM category"))
    }
    if max(category_weights, default=0) >= CATEGORY_SPAN:
        raise ValueError(f"category ids must stay below {CATEGORY_SPAN} for scoring")
    agg = Aggregate()
    sums: dict[tuple[int, str, int], list[float]] = defaultdict(list)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for g, n, sum_b, listed_ids in session.execute(query, params):
        if g is None:  # b == 0: no contribution
            continue
        v, k, ds, dl, bucket = decode_group(int(g))
        n = int(n)
        ws, wl = category_weights[k]
        if listed_ids:
            agg.listed_complete &= _decode_listed(agg.listed, listed_ids, v, ds * ws, dl * wl)
        floor_b = 0.0 if bucket == MIN_BUCKET else bucket_floor(bucket)
        for dim, factor in (("stability", ds * ws), ("lock_in", dl * wl)):
            if factor == 0:
                continue
            sign = 1 if factor > 0 else -1
            sums[(v, dim, sign)].append(factor * float(sum_b))
            counts[(v, dim)] += n
            hist = agg.histograms.setdefault((v, dim, sign), {})
            key = abs(factor) * floor_b
            hist[key] = hist.get(key, 0) + n
    vendors = {key[0] for key in counts}
    for v in vendors:
        agg.totals[v] = {
            dim: EventTotals(
                positive=math.fsum(sums.get((v, dim, 1), [])),
                negative=math.fsum(sums.get((v, dim, -1), [])),
                count=counts.get((v, dim), 0),
            )
            for dim in ("stability", "lock_in")
        }
    return agg


# b is listed exactly as the integer b * 2**56 when 2**-4 <= b < 2**6 (then that product
# is an integer below 2**63); outside that range the id comes alone and the list is incomplete.
_B_SHIFT = 56
_B_LOW = 2.0**-4
_B_HIGH = 2.0**6


def _listed_columns(
    params: dict[str, Any], id_floor: float | None, *, sqlite: bool
) -> tuple[str, str]:
    """SQL for the per-link "id:bits" of links whose |c| reaches ``id_floor``, and its
    per-group concatenation."""
    if id_floor is None:
        return "NULL AS cid", "NULL AS listed"
    params.update(id_floor=id_floor, b_scale=2.0**_B_SHIFT, b_low=_B_LOW, b_high=_B_HIGH)
    bits = "CAST(b * :b_scale AS BIGINT)"
    cid = (
        "CASE WHEN abs(ws) * b >= :id_floor OR abs(wl) * b >= :id_floor THEN "
        f"CAST(id AS TEXT) || ':' || (CASE WHEN b >= :b_low AND b < :b_high "
        f"THEN CAST({bits} AS TEXT) ELSE '' END) END AS cid"
    )
    listed = "group_concat(cid) AS listed" if sqlite else "string_agg(cid, ',') AS listed"
    return cid, listed


def _decode_listed(
    out: list[tuple[int, int, float, float]], text_: str, vendor: int, ws: float, wl: float
) -> bool:
    """Append (event, vendor, c stability, c lock-in) for each "id:bits" of ``text_``; False
    when a b was not encoded (out of range)."""
    if ":," in text_ or text_.endswith(":"):
        return False
    nums = list(map(int, text_.replace(":", ",").split(",")))
    scale = 2.0**-_B_SHIFT  # exact: bits * 2**-56 is b again
    out.extend(
        (event_id, vendor, ws * (bits * scale), wl * (bits * scale))
        for event_id, bits in zip(nums[0::2], nums[1::2], strict=True)
    )
    return True


def decode_group(g: int) -> tuple[int, int, int, int, int]:
    """(vendor, category, direction stability, direction lock-in, bucket) of a group key.

    One integer key makes the GROUP BY sort cheaper than five columns."""
    g, bucket = divmod(g, BUCKET_SPAN)
    g, dl = divmod(g, 3)
    g, ds = divmod(g, 3)
    v, k = divmod(g, CATEGORY_SPAN)
    return v, k, ds - 1, dl - 1, bucket + MIN_BUCKET


def threshold(histogram: dict[float, int], top_n: int) -> float:
    """The smallest |c| an event needs to be among the ``top_n`` largest (a bucket floor);
    0 when there are no more than ``top_n`` events above the merged lowest bucket."""
    seen = 0
    for floor_c in sorted(histogram, reverse=True):
        seen += histogram[floor_c]
        if seen >= top_n:
            return floor_c
    return 0.0


def _class_condition(classes: set[tuple[str, int]] | dict[tuple[str, int], float]) -> str:
    parts = []
    for dim, sign in sorted(classes):
        col = "ws" if dim == "stability" else "wl"
        cond = f"u.{col} * {sign} > 0"
        if isinstance(classes, dict):
            name = f"t_{dim}_{'p' if sign > 0 else 'n'}"
            cond += f" AND abs(u.{col}) * u.b >= :{name}"
        parts.append(f"({cond})")
    return " OR ".join(parts)


def _candidates_sql(
    dialect: str, *, where: str, keep: str, by_vendor: bool, rel_case: str, since: str
) -> str:
    """Per-event c for the events that pass ``keep``, and ``since`` (a cheap date filter that
    skips events too old to pass) before any arithmetic."""
    sqlite = dialect == "sqlite"
    join = "CROSS JOIN" if sqlite else "JOIN"
    fence = _fence(dialect)
    day_num = _day_number(dialect, "e.occurred_at")
    if by_vendor:  # driven by the vendors' links (index on event_vendor.vendor_id)
        source = f"event_vendor ev {join} event e ON e.id = ev.event_id"
        where = f"ev.vendor_id IN :vendor_ids AND {where}"
        vendor_col, tail, outer = "ev.vendor_id AS v,", "", f"({keep})"
    else:  # one scan of the events; only those that pass are joined to their vendors
        source = "event AS e NOT INDEXED" if sqlite else "event AS e"
        vendor_col = "NULL AS v,"
        tail = f"{join} event_vendor ev ON ev.event_id = u.id"
        outer = f"({keep}) AND ev.vendor_id IN :vendor_ids"
    vendor_out = "u.v" if by_vendor else "ev.vendor_id"
    # Only constant SQL fragments are interpolated; every value is a bound parameter.
    return f"""
SELECT u.id, {vendor_out}, u.ws * u.b, u.wl * u.b FROM (
  SELECT e.id AS id, {vendor_col}
    e.direction_stability * c.weight_stability AS ws,
    e.direction_lock_in * c.weight_lock_in AS wl,
    e.severity / 5.0 * e.confidence * {rel_case}
      * exp(-(:as_of_day - {day_num}) * :ln2 / c.half_life_days) AS b
  FROM {source} {join} category c ON c.id = e.category_id
  WHERE {where} {since} {fence}
) u {tail} WHERE {outer}"""  # noqa: S608


def _since(
    session: Session,
    filters: Filters,
    thresholds: dict[tuple[str, int], float],
    rel_max: float,
    params: dict[str, Any],
    *,
    sqlite: bool,
) -> str:
    """A per-category date filter: an event of category k cannot reach |c| >= t when it is
    older than ``half_life * log2(|weight| * rel_max / t)`` days (severity/5 and confidence are
    at most 1), for every threshold t its sign may meet. One day of margin for rounding."""
    whens = []
    rows = session.execute(
        text("SELECT id, weight_stability, weight_lock_in, half_life_days FROM category")
    )
    for i, (k, ws, wl, hl) in enumerate(rows):
        ages = [
            float(hl) * math.log2(abs(float(w)) * rel_max / t)
            for (dim, _sign), t in thresholds.items()
            for w in [ws if dim == "stability" else wl]
            if t > 0 and abs(float(w)) * rel_max >= t
        ]
        if ages and not max(ages) < (filters.day - dt.date.min).days - 2:
            continue  # the bound reaches back before any date: no filter for this category
        cutoff = (
            filters.day - dt.timedelta(days=math.floor(max(ages)) + 1)
            if ages
            else filters.day + dt.timedelta(days=1)  # can never reach a threshold
        )
        params[f"since_k{i}"] = int(k)
        params[f"since_d{i}"] = cutoff.isoformat() if sqlite else cutoff
        whens.append(f"WHEN :since_k{i} THEN :since_d{i}")
    if not whens:
        return ""
    return f"AND e.occurred_at >= (CASE e.category_id {' '.join(whens)} ELSE e.occurred_at END)"


def candidate_events(
    *,
    session: Session,
    filters: Filters,
    weights: ScoringWeights,
    vendor_ids: Sequence[int],
    thresholds: dict[tuple[str, int], float] | None = None,
    classes: set[tuple[str, int]] | None = None,
) -> list[tuple[int, int, float, float]]:
    """(event id, vendor id, c stability, c lock-in) of counted events of ``vendor_ids``.

    With ``thresholds`` ({(dimension, sign): |c|}): the events whose |c| may reach it, from
    one scan that filters on an upper bound of |c| (best reliability, no joins); only those
    are joined to vendors and feeds. With ``classes`` ({(dimension, sign)}): every event of
    those classes, reached through the vendors' links (for vendors with few such events)."""
    if not vendor_ids or not (thresholds or classes):
        return []
    dialect = _dialect(session)
    params: dict[str, Any] = {
        "as_of_day": (filters.day - _EPOCH).days,
        "ln2": LN2,
        "rel_max": max(weights.reliability.grades.values()),
        "vendor_ids": list(vendor_ids),
    }
    where, expanding = _where(filters, params, sqlite=dialect == "sqlite")
    expanding.append(bindparam("vendor_ids", expanding=True))
    if thresholds:
        for (dim, sign), value in thresholds.items():
            params[f"t_{dim}_{'p' if sign > 0 else 'n'}"] = value * (1 - 1e-9)
        keep = _class_condition(thresholds)
    else:
        keep = _class_condition(classes or set())
    rel_case = _reliability_case(weights, "e.source_grade", params)
    since = ""
    if thresholds:
        since = _since(
            session, filters, thresholds, params["rel_max"], params, sqlite=dialect == "sqlite"
        )
    sql = _candidates_sql(
        dialect,
        where=where,
        keep=keep,
        by_vendor=not thresholds,
        rel_case=rel_case,
        since=since,
    )
    query = text(sql).bindparams(*expanding)
    return [(r[0], r[1], float(r[2]), float(r[3])) for r in session.execute(query, params)]


def top_events(rows: Sequence[tuple[int, int, float, float]], top_n: int) -> dict[int, list[int]]:
    """Per vendor, the ids of the events among the ``top_n`` largest |c| of any of its
    (dimension, sign) classes; ties broken by event id, so the choice is deterministic."""
    classes: dict[tuple[int, int, int], list[tuple[float, int]]] = defaultdict(list)
    # The same (event, vendor) may come from both candidate queries: count it once.
    for event_id, vendor_id, cs, cl in set(rows):
        for dim, c in ((0, cs), (1, cl)):
            if c != 0:
                classes[(vendor_id, dim, 1 if c > 0 else -1)].append((abs(c), -event_id))
    out: dict[int, set[int]] = defaultdict(set)
    for (vendor_id, _dim, _sign), values in classes.items():
        for _c, neg_id in heapq.nlargest(top_n, values):
            out[vendor_id].add(-neg_id)
    return {v: sorted(ids) for v, ids in out.items()}


def chunks(ids: Sequence[int], size: int = 5000) -> list[list[int]]:
    """``ids`` in lists of at most ``size`` (for IN clauses)."""
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]
