"""The heavy SQL of scoring: every event's contribution computed in the database and summed
per vendor in one pass, so a full rescore never moves events into Python one by one.

Both queries read ``score_link`` (one narrow row per (event, vendor) link, kept by database
triggers: migration 0002) joined to the 14-odd categories, and are written for SQLite and
PostgreSQL alike (same arithmetic, same inputs):

- :func:`aggregate_events` returns, per vendor and dimension, the sums of the positive and
  negative contributions and the number of events per sign, plus every link whose |c| reaches
  a floor (its id and exact b), from which each vendor's top N are picked;
- :func:`vendor_links` returns every counted link of some vendors (for the few whose top N
  reach below that floor).

On SQLite, score_link is clustered by (vendor, category), so the GROUP BY streams in key
order with no sort.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, bindparam, func, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from kb.scoring.model import DIMENSIONS, MAX_HALF_LIVES, EventTotals
from kb.scoring.weights import GRADES, ScoringWeights

LN2 = math.log(2)
_EPOCH = dt.date(1970, 1, 1)


# A (vendor, dimension, sign) class: dimension 0 is stability, 1 lock-in; sign +1 or -1.
ClassKey = tuple[int, int, int]


@dataclass
class Aggregate:
    """Per vendor and dimension: totals; per class (vendor, dimension, sign): how many links
    count, and the candidates for its top N: (|c|, -event id) of every link listed because
    its |c| reaches the floor in some dimension."""

    totals: dict[int, dict[str, EventTotals]] = field(default_factory=dict)
    counts: dict[ClassKey, int] = field(default_factory=dict)
    candidates: dict[ClassKey, list[tuple[float, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # How many candidates of each class reach the floor in that class's own dimension.
    listed: dict[ClassKey, int] = field(default_factory=lambda: defaultdict(int))
    # Vendors with a listed link whose b fell outside the exact encoding's range: their
    # listing is incomplete, so their top N must come from vendor_links.
    unlisted_vendors: set[int] = field(default_factory=set)


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


def _where(filters: Filters, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """The link filter (on score_link ``l``) and its expanding bind parameters."""
    params["as_of_day"] = (filters.day - _EPOCH).days
    params["statuses"] = list(filters.statuses)
    expanding: list[Any] = [bindparam("statuses", expanding=True)]
    status = "l.status IN :statuses"
    if filters.exclude_ids:
        status += " AND l.event_id NOT IN :exclude_ids"
        params["exclude_ids"] = list(filters.exclude_ids)
        expanding.append(bindparam("exclude_ids", expanding=True))
    if filters.include_ids:
        status = f"({status}) OR l.event_id IN :include_ids"
        params["include_ids"] = list(filters.include_ids)
        expanding.append(bindparam("include_ids", expanding=True))
    where = f"l.merged = 0 AND l.day <= :as_of_day AND ({status})"
    if filters.vendor_ids is not None:
        where += " AND l.vendor_id IN :vendor_ids"
        params["vendor_ids"] = list(filters.vendor_ids)
        expanding.append(bindparam("vendor_ids", expanding=True))
    return where, expanding


def _reliability_case(weights: ScoringWeights, column: str, params: dict[str, Any]) -> str:
    """SQL for the reliability multiplier of a grade column holding capitals (score_link
    stores them so; bound values, no literals)."""
    rel = weights.reliability
    for g in GRADES:
        params[f"rel_{g}"] = float(rel.grades[g])
    params["rel_default"] = float(rel.grades[rel.default_grade])
    whens = " ".join(f"WHEN '{g}' THEN :rel_{g}" for g in GRADES)
    return (
        f"(CASE WHEN {column} IS NULL THEN :rel_default "
        f"ELSE (CASE {column} {whens} ELSE :rel_F END) END)"
    )


def _links_sql(
    filters: Filters, weights: ScoringWeights, params: dict[str, Any], *, sqlite: bool
) -> tuple[str, list[Any]]:
    """Per counted link: v, k, id, ds, dl, the category weights ws, wl, and
    ``b = severity/5 * confidence * reliability * decay`` (so ``c = direction * weight * b``)."""
    params["ln2"] = LN2
    params["max_half_lives"] = MAX_HALF_LIVES
    where, expanding = _where(filters, params)
    rel_case = _reliability_case(weights, "l.grade", params)
    join = "CROSS JOIN" if sqlite else "JOIN"  # SQLite: score_link drives, in key order
    # Only links with b > 0 (so counts need not look at b): confidence above 0, younger
    # than MAX_HALF_LIVES half-lives (the model's decay is 0 from there), a grade whose
    # reliability is above 0 (checked only when the weights give some grade 0).
    where += " AND l.base > 0 AND (:as_of_day - l.day) < :max_half_lives * c.half_life_days"
    if min(weights.reliability.grades.values()) <= 0:
        where += f" AND {rel_case} > 0"
    # Only constant SQL fragments are interpolated; every value is a bound parameter.
    sql = f"""
  SELECT l.vendor_id AS v, l.category_id AS k, l.event_id AS id, l.ds AS ds, l.dl AS dl,
    c.weight_stability AS ws, c.weight_lock_in AS wl,
    l.base * {rel_case} * exp(-(:as_of_day - l.day) * :ln2 / c.half_life_days) AS b
  FROM score_link l {join} category c ON c.id = l.category_id
  WHERE {where}"""  # noqa: S608
    return sql, expanding


# b is listed exactly as the integer b * 2**56 when 2**-4 <= b < 2**6 (then that product
# is an integer below 2**63); outside that range the id comes without it.
_B_SHIFT = 56
_B_LOW = 2.0**-4
_B_HIGH = 2.0**6


def aggregate_events(
    *, session: Session, filters: Filters, weights: ScoringWeights, id_floor: float
) -> Aggregate:
    """Sum every counted link's contribution per vendor and dimension, in one pass, and list
    the links whose |c| reaches ``id_floor`` in a dimension.

    SQL groups by (vendor, category, directions) and sums b; since ``c = direction * weight
    * b`` with one weight per category, Python turns the group rows into exact totals per
    sign (``math.fsum`` over the groups)."""
    sqlite = _dialect(session) == "sqlite"
    params: dict[str, Any] = {
        "id_floor": id_floor,
        "b_scale": 2.0**_B_SHIFT,
        "b_low": _B_LOW,
        "b_high": _B_HIGH,
    }
    links, expanding = _links_sql(filters, weights, params, sqlite=sqlite)
    bits = "CAST(CAST(b * :b_scale AS BIGINT) AS TEXT)"
    cid = (
        f"CASE WHEN b * {'max' if sqlite else 'greatest'}(abs(ds) * ws, abs(dl) * wl) "
        ">= :id_floor THEN CAST(id AS TEXT) || ':' || "
        f"(CASE WHEN b >= :b_low AND b < :b_high THEN {bits} ELSE '' END) END"
    )
    listed = f"group_concat({cid})" if sqlite else f"string_agg({cid}, ',')"
    # No fence around the links: SQLite flattens them into the aggregate and reads
    # score_link in key order (vendor, category, directions), so the GROUP BY needs no sort
    # and every aggregate sees one group's links.
    sql = f"""
SELECT v, k, ds, dl, max(ws), max(wl), sum(b), count(*), {listed}
FROM ({links}) y GROUP BY v, k, ds, dl"""  # noqa: S608
    query = text(sql).bindparams(*expanding)
    agg = Aggregate()
    sums: dict[tuple[int, str, int], list[float]] = defaultdict(list)
    counts: dict[ClassKey, int] = defaultdict(int)
    for v, _k, ds, dl, ws, wl, sum_b, n, listed_ids in session.execute(query, params):
        ws, wl = float(ws), float(wl)
        for index, (direction, weight) in enumerate(((ds, ws), (dl, wl))):
            if direction == 0 or weight == 0:
                continue
            c = direction * weight * float(sum_b)
            sign = 1 if c > 0 else -1
            sums[(v, DIMENSIONS[index], sign)].append(c)
            counts[(v, index, sign)] += int(n)
        if listed_ids and not _decode_listed(agg, listed_ids, v, ds * ws, dl * wl, id_floor):
            agg.unlisted_vendors.add(v)
    agg.counts = dict(counts)
    for v in {key[0] for key in counts}:
        agg.totals[v] = {
            dim: EventTotals(
                positive=math.fsum(sums.get((v, dim, 1), [])),
                negative=math.fsum(sums.get((v, dim, -1), [])),
                count=counts.get((v, index, 1), 0) + counts.get((v, index, -1), 0),
            )
            for index, dim in enumerate(DIMENSIONS)
        }
    return agg


def _decode_listed(
    agg: Aggregate, text_: str, vendor: int, ws: float, wl: float, floor: float
) -> bool:
    """Add each "id:bits" of ``text_`` (one group: ``ws``, ``wl`` are its direction times
    weight) to its classes' candidates, with exact c; False when a b was not encoded (out
    of range)."""
    if ":," in text_ or text_.endswith(":"):
        return False
    nums = list(map(int, text_.replace(":", ",").split(",")))
    scale = 2.0**-_B_SHIFT  # exact: bits * 2**-56 is b again
    floor *= 1 - 1e-12
    candidates, listed = agg.candidates, agg.listed
    for index, w in enumerate((ws, wl)):
        if w == 0:
            continue
        key = (vendor, index, 1 if w > 0 else -1)
        size_of = abs(w)
        found = candidates[key]
        reach = 0
        for event_id, b_bits in zip(nums[0::2], nums[1::2], strict=True):
            size = size_of * (b_bits * scale)
            found.append((size, -event_id))
            reach += size >= floor
        listed[key] += reach
    return True


def add_candidates(agg: Aggregate, rows: Sequence[tuple[int, int, float, float]]) -> None:
    """Make (event, vendor, c stability, c lock-in) rows the candidates of their vendors,
    replacing what the listing gave them."""
    vendors = {r[1] for r in rows}
    for key in [k for k in agg.candidates if k[0] in vendors]:
        del agg.candidates[key]
    for event_id, vendor, cs, cl in set(rows):
        for dim, c in ((0, cs), (1, cl)):
            if c != 0:
                agg.candidates[(vendor, dim, 1 if c > 0 else -1)].append((abs(c), -event_id))


def vendor_links(
    *, session: Session, filters: Filters, weights: ScoringWeights, vendor_ids: Sequence[int]
) -> list[tuple[int, int, float, float]]:
    """(event id, vendor id, c stability, c lock-in) of every counted link of ``vendor_ids``
    (on SQLite a range of the clustered score_link per vendor)."""
    if not vendor_ids:
        return []
    params: dict[str, Any] = {}
    scoped = dataclasses.replace(filters, vendor_ids=tuple(vendor_ids))
    links, expanding = _links_sql(scoped, weights, params, sqlite=_dialect(session) == "sqlite")
    sql = f"SELECT id, v, ds * ws * b, dl * wl * b FROM ({links}) y"  # noqa: S608
    query = text(sql).bindparams(*expanding)
    return [(r[0], r[1], float(r[2]), float(r[3])) for r in session.execute(query, params)]


def top_events(
    candidates: dict[ClassKey, list[tuple[float, int]]], top_n: int
) -> dict[int, list[int]]:
    """Per vendor, the ids of the events among the ``top_n`` largest |c| of any of its
    (dimension, sign) classes; ties broken by event id, so the choice is deterministic."""
    out: dict[int, set[int]] = defaultdict(set)
    for (vendor_id, _dim, _sign), values in candidates.items():
        for _c, neg_id in heapq.nlargest(top_n, values):
            out[vendor_id].add(-neg_id)
    return {v: sorted(ids) for v, ids in out.items()}


def ids_in(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN ids`` with the ids bound as one value (a JSON array on SQLite, an array on
    PostgreSQL): no statement with thousands of parameters to build and compile."""
    if _dialect(session) == "sqlite":
        values = select(literal_column("value", Integer)).select_from(
            func.json_each(json.dumps([int(i) for i in ids]))
        )
        return column.in_(values.scalar_subquery())
    array = bindparam("ids", [int(i) for i in ids], type_=postgresql.ARRAY(Integer), unique=True)
    return column == any_(array)
