"""CQL2 filters (OGC API - Features Part 3): parsed by the `cql2` library, checked and evaluated here.

`cql2` (Rust-backed, >= 0.6.0) turns CQL2 text or JSON into CQL2 JSON; nothing else of it is used, in
particular never its SQL. `parse` walks that JSON into a small tree whose every property is a field of
the layer (or `id`, or the geometry) and whose every literal has the field's type, or raises
`CqlError` (400) saying what and where. Each store then evaluates the tree its own way: the GeoPackage
store with numpy over its column arrays (`evaluate`), PostGIS as parameterised SQL (`to_sql`), with the
same three-valued logic (a comparison with NULL is unknown; NOT unknown is unknown; unknown rows are
not returned), so both stores return the same features.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import cql2
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..catalog import LayerSpec
from ..crs import CRS84, to_crs84
from .errors import InvalidQuery

GEOMETRY = "geometry"
COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}
SPATIAL = {"s_intersects", "s_within", "s_contains", "s_disjoint", "s_equals", "s_touches", "s_overlaps",
           "s_crosses"}
TEMPORAL = {"t_before", "t_after", "t_during", "t_equals"}
LOGICAL = {"and", "or", "not"}
KINDS = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "date": "date",
         "datetime": "timestamp"}


class CqlError(InvalidQuery):
    """A filter that cannot be run here: malformed, an unknown property, a wrong type, an unknown function."""


@dataclass(frozen=True)
class Prop:
    name: str
    kind: str  # string, number, boolean, date, timestamp, geometry, id
    casei: bool = False


@dataclass(frozen=True)
class Lit:
    value: Any  # str, float, bool, dt.date, dt.datetime, BaseGeometry, tuple (IN list or interval), None
    kind: str
    casei: bool = False


@dataclass(frozen=True)
class Op:
    op: str
    args: tuple


Node = Prop | Lit | Op


# ------------------------------------------------------------------ parsing and checking

def parse(text: str | dict, spec: LayerSpec, lang: str = "cql2-text", crs: str = CRS84) -> Node:
    """The checked tree of a filter on layer `spec`; `crs` is the CRS of its geometry literals (filter-crs)."""
    try:
        if lang == "cql2-json":
            expr = cql2.parse_json(text if isinstance(text, str) else json.dumps(text))
        elif lang in ("cql2-text", "cql-text"):  # cql-text: the draft's name, which GDAL's OAPIF driver sends
            expr = cql2.parse_text(text)
        else:
            raise CqlError(f"filter-lang={lang!r}: use cql2-text or cql2-json")
    except CqlError:
        raise
    except Exception as e:  # cql2 raises its own ParseError/ValueError types; the message points at the place
        raise CqlError(f"filter: cannot parse: {_one_line(e)}") from None
    return _Checker(spec, crs).node(expr.to_json())


def _one_line(error: Exception) -> str:
    text = str(error)
    where = re.search(r"-->\s*(\d+):(\d+)", text)
    expected = re.search(r"=\s*(expected .*)", text)
    parts = []
    if where:
        parts.append(f"at line {where.group(1)}, column {where.group(2)}")
    if expected:
        parts.append(expected.group(1).strip())
    return "; ".join(parts) or text.strip().splitlines()[0]


class _Checker:
    def __init__(self, spec: LayerSpec, crs: str):
        self.spec, self.crs = spec, crs

    def node(self, j: Any) -> Node:
        if isinstance(j, dict) and "op" in j:
            return self.op(j["op"].lower() if isinstance(j["op"], str) else j["op"], j.get("args", []))
        if isinstance(j, dict) and "property" in j:
            return self.prop(j["property"])
        return self.literal(j)

    def prop(self, name: str) -> Prop:
        if name == "id":
            return Prop("id", "number")
        if name in (GEOMETRY, "geom"):
            return Prop(GEOMETRY, "geometry")
        if not self.spec.has_field(name):
            raise CqlError(f"filter: {name!r} is not a queryable of {self.spec.id}; use: id, geometry, "
                           f"{', '.join(self.spec.field_names)}")
        if self.spec.field(name).type == "list":  # CQL2's array functions are not implemented
            raise CqlError(f"filter: {name!r} is a list; filter it with the query parameter {name}=VALUE "
                           "(features whose list contains VALUE)")
        return Prop(name, KINDS[self.spec.field(name).type])

    def literal(self, j: Any) -> Lit:
        if j is None:
            return Lit(None, "null")
        if isinstance(j, bool):
            return Lit(j, "boolean")
        if isinstance(j, int | float):
            return Lit(float(j), "number")
        if isinstance(j, str):
            return Lit(j, "string")
        if isinstance(j, list):
            return Lit(tuple(self.literal(v) for v in j), "list")
        if isinstance(j, dict):
            return self._typed_literal(j)
        raise CqlError(f"filter: {j!r} is not a value CQL2 knows")

    def _typed_literal(self, j: dict) -> Lit:
        if "date" in j:
            try:
                return Lit(dt.date.fromisoformat(j["date"]), "date")
            except (TypeError, ValueError):
                raise CqlError(f"filter: DATE('{j['date']}') is not a date (YYYY-MM-DD)") from None
        if "timestamp" in j:
            try:
                return Lit(dt.datetime.fromisoformat(str(j["timestamp"]).replace("Z", "+00:00")), "timestamp")
            except ValueError:
                raise CqlError(f"filter: TIMESTAMP('{j['timestamp']}') is not an RFC 3339 timestamp") from None
        if "interval" in j:
            ends = tuple(Lit(None, "open") if v == ".." else self.literal(v if isinstance(v, dict) else {"date": v}
                                                                          if len(str(v)) == 10 else {"timestamp": v})
                         for v in j["interval"])
            return Lit(ends, "interval")
        if "bbox" in j:
            b = j["bbox"]
            box = shapely.box(b[0], b[1], b[2], b[3]) if len(b) == 4 else shapely.box(b[0], b[1], b[3], b[4])
            return Lit(self._to_crs84(box), "geometry")
        if "type" in j:
            try:
                geom = shapely.geometry.shape(j)
            except Exception as e:  # shapely raises several types for malformed GeoJSON
                raise CqlError(f"filter: not a valid geometry ({e})") from None
            return Lit(self._to_crs84(geom), "geometry")
        raise CqlError(f"filter: {j!r} is not a value CQL2 knows")

    def _to_crs84(self, geom: BaseGeometry) -> BaseGeometry:
        return geom if self.crs == CRS84 else to_crs84(self.crs, np.array([geom], dtype=object))[0]

    def op(self, op: str, args: list) -> Node:
        if op == "casei":
            inner = self.node(args[0])
            if inner.kind != "string":
                raise CqlError("filter: CASEI takes a string property or value")
            return Prop(inner.name, "string", True) if isinstance(inner, Prop) else Lit(inner.value, "string", True)
        if op in LOGICAL:
            nodes = tuple(self.node(a) for a in args)
            for n in nodes:
                if not isinstance(n, Op) and not (isinstance(n, Prop) and n.kind == "boolean"):
                    raise CqlError(f"filter: {op.upper()} takes conditions")
            return Op(op, nodes)
        nodes = tuple(self.node(a) for a in args)
        if op in COMPARISONS or op in ("like", "between", "in", "isnull"):
            return self._comparison(op, nodes)
        if op in SPATIAL:
            return self._spatial(op, nodes)
        if op in TEMPORAL:
            return self._temporal(op, nodes)
        raise CqlError(f"filter: unknown or unsupported function {op!r}; supported: comparisons, LIKE, BETWEEN, "
                       f"IN, IS NULL, CASEI, {', '.join(sorted(s.upper() for s in SPATIAL | TEMPORAL))}")

    def _comparison(self, op: str, nodes: tuple) -> Op:
        if op == "isnull":
            return Op(op, nodes)
        left = nodes[0]
        others = nodes[1] if op == "in" else nodes[1:]
        values = others.value if op == "in" and isinstance(others, Lit) and others.kind == "list" else others
        if op == "in" and not (isinstance(others, Lit) and others.kind == "list"):
            raise CqlError("filter: IN takes a list of values")
        values = tuple(_as_date_literal(left, v) for v in values)
        if op == "like" and left.kind != "string":
            what = left.name if isinstance(left, Prop) else repr(left.value)
            raise CqlError(f"filter: LIKE compares text; {what} is not text")
        for v in values:
            _same_kind(left, v, op)
        return Op(op, (left, *values))

    def _spatial(self, op: str, nodes: tuple) -> Op:
        if len(nodes) != 2 or any(n.kind != "geometry" for n in nodes):
            raise CqlError(f"filter: {op.upper()} takes two geometries (the geometry property and a literal)")
        return Op(op, nodes)

    def _temporal(self, op: str, nodes: tuple) -> Op:
        if len(nodes) != 2 or nodes[0].kind not in ("date", "timestamp") or \
                nodes[1].kind not in ("date", "timestamp", "interval"):
            raise CqlError(f"filter: {op.upper()} takes a date property and a DATE, TIMESTAMP or INTERVAL")
        if op == "t_during" and nodes[1].kind != "interval":
            raise CqlError("filter: T_DURING takes an INTERVAL")
        return _temporal_as_comparison(op, nodes)


def _as_date_literal(left: Node, right: Node) -> Node:
    """'2023-01-01' compared with a date property means DATE('2023-01-01'): clients such as GDAL write
    dates as text, and the text is unambiguous."""
    if left.kind in ("date", "timestamp") and isinstance(right, Lit) and right.kind == "string":
        try:
            value = right.value
            return Lit(dt.date.fromisoformat(value), "date") if len(value) == 10 else Lit(
                dt.datetime.fromisoformat(value.replace("Z", "+00:00")), "timestamp")
        except ValueError:
            return right  # not a date: the type check below says so
    return right


def _same_kind(left: Node, right: Node, op: str) -> None:
    kinds = {left.kind, right.kind} - {"null"}
    if "id" in kinds:
        kinds = (kinds - {"id"}) | {"number"}
    compatible = len(kinds) <= 1 or kinds <= {"date", "timestamp"}
    if not compatible:
        a = left.name if isinstance(left, Prop) else repr(left.value)
        b = right.name if isinstance(right, Prop) else repr(right.value)
        raise CqlError(f"filter: {a} ({left.kind}) and {b} ({right.kind}) cannot be compared with {op.upper()}")


# ------------------------------------------------------------------ numpy evaluation (the GeoPackage store)

_NARROWING = SPATIAL - {"s_disjoint"}  # every relation but disjointness implies the envelopes meet


def envelope_hint(node: Node) -> tuple[float, float, float, float] | None:
    """Bounds every matching feature's envelope must meet, when the filter says so at its top level (a
    spatial condition with a literal, alone or ANDed): the embedded store's R-tree narrows with them."""
    if isinstance(node, Op) and node.op == "and":
        boxes = [b for a in node.args if (b := envelope_hint(a)) is not None]
        if not boxes:
            return None
        return (max(b[0] for b in boxes), max(b[1] for b in boxes), min(b[2] for b in boxes),
                min(b[3] for b in boxes))
    if isinstance(node, Op) and node.op in _NARROWING:
        lits = [a for a in node.args if isinstance(a, Lit)]
        if len(lits) == 1 and any(isinstance(a, Prop) for a in node.args):
            return tuple(lits[0].value.bounds)
    return None


@dataclass
class Columns:
    """What a filter may read of one layer, as arrays in row order."""

    ids: np.ndarray
    geoms: np.ndarray
    values: dict[str, np.ndarray]  # field -> object array (None for null)


def evaluate(node: Node, cols: Columns) -> np.ndarray:
    """The rows where the filter is true (unknown counts as not true)."""
    truth, known = _eval(node, cols)
    return truth & known


def _eval(node: Node, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
    n = len(cols.ids)
    if isinstance(node, Prop):  # a boolean property as a condition
        v, null = _values(node, cols, "boolean")
        return np.nan_to_num(v) != 0, ~null
    op = node.op
    if op in LOGICAL:
        parts = [_eval(a, cols) for a in node.args]
        if op == "not":
            t, k = parts[0]
            return k & ~t, k
        t, k = parts[0]
        for t2, k2 in parts[1:]:
            if op == "and":
                t, k = t & t2, (k & k2) | (k & ~t) | (k2 & ~t2)
            else:
                t, k = t | t2, (k & k2) | (k & t) | (k2 & t2)
        return t, k
    if op == "isnull":
        return _values(node.args[0], cols, "string")[1], np.ones(n, dtype=bool)
    if op in SPATIAL:
        return _spatial_eval(op, node.args, cols), ~_none_mask(cols.geoms)
    return _compare_eval(op, node.args, cols)


def _none_mask(a: np.ndarray) -> np.ndarray:
    return pd.isna(pd.Series(a, dtype=object)).to_numpy()


def _values(node: Node, cols: Columns, kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(values, null mask) of a property or literal, typed for comparing as `kind`: numbers as float64,
    dates and times as datetime64 (UTC), text as objects (lower-cased for CASEI). Vectorised: no Python
    call per row."""
    kind = kind or node.kind
    n = len(cols.ids)
    if isinstance(node, Lit):
        return _literal_values(node, kind, n)
    if node.name == "id":
        values = cols.ids.astype("float64")
        return values, np.zeros(n, dtype=bool)
    raw = pd.Series(cols.values[node.name])
    null = raw.isna().to_numpy()
    if kind in ("date", "timestamp"):
        # naive datetime64 in UTC, like the literals: numpy compares them without a Python call per row
        values = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601").dt.tz_convert(None).to_numpy()
    elif kind in ("number", "boolean"):
        values = pd.to_numeric(raw.astype(object).where(~null, np.nan), errors="coerce").astype("float64").to_numpy()
    elif node.casei:
        values = raw.astype(object).str.lower().to_numpy(dtype=object)
    else:
        values = raw.to_numpy(dtype=object)
    return values, null


def _literal_values(node: Lit, kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    v = node.value.lower() if node.casei and isinstance(node.value, str) else node.value
    if v is None:
        return np.full(n, None, dtype=object), np.ones(n, dtype=bool)
    if kind in ("date", "timestamp"):
        return np.full(n, np.datetime64(pd.Timestamp(_as_time(v)).tz_convert(None))), np.zeros(n, dtype=bool)
    if kind in ("number", "boolean"):
        return np.full(n, float(v)), np.zeros(n, dtype=bool)
    return np.full(n, v, dtype=object), np.zeros(n, dtype=bool)


def properties_of(node: Node) -> set[str]:
    """The fields a filter reads (a store loads only those columns)."""
    if isinstance(node, Prop):
        return {node.name} - {"id", GEOMETRY}
    if isinstance(node, Op):
        return set().union(*(properties_of(a) for a in node.args)) if node.args else set()
    return set()


def _as_time(x: Any) -> Any:
    if x is None or (isinstance(x, float) and x != x):
        return None
    if isinstance(x, dt.datetime):
        return x if x.tzinfo else x.replace(tzinfo=dt.UTC)
    if isinstance(x, dt.date):
        return dt.datetime(x.year, x.month, x.day, tzinfo=dt.UTC)
    text = str(x)
    return _as_time(dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text or " " in text
                    else dt.date.fromisoformat(text))


def _compare_eval(op: str, args: tuple, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
    kinds = [a.kind for a in args if a.kind != "null"]
    kind = "timestamp" if any(k in ("date", "timestamp") for k in kinds) else (kinds[0] if kinds else "string")
    left, left_null = _values(args[0], cols, kind)
    if op == "in":
        members = [_values(a, cols, kind)[0][0] for a in args[1:] if not (isinstance(a, Lit) and a.value is None)]
        return pd.Series(left).isin(members).to_numpy() & ~left_null, ~left_null
    others = [_values(a, cols, kind) for a in args[1:]]
    known = ~left_null
    for _, null in others:
        known &= ~null
    truth = np.zeros(len(left), dtype=bool)
    if known.any():
        idx = np.flatnonzero(known)
        truth[idx] = _vector_compare(op, left[idx], [o[0][idx] for o in others])
    return truth, known


_NP_OPS = {"=": np.equal, "<>": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
           ">=": np.greater_equal}


def _vector_compare(op: str, a: np.ndarray, bs: list[np.ndarray]) -> np.ndarray:
    if op in _NP_OPS:
        return np.asarray(_NP_OPS[op](a, bs[0]), dtype=bool)
    if op == "between":
        return np.asarray((bs[0] <= a) & (a <= bs[1]), dtype=bool)
    if op == "like":
        regex = _like_regex(bs[0][0]).pattern
        return pd.Series(a, dtype=object).str.fullmatch(regex, flags=re.S).fillna(False).to_numpy(dtype=bool)
    raise CqlError(f"filter: {op!r} cannot be evaluated")


def _like_regex(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern), re.S)


_SHAPELY = {"s_intersects": shapely.intersects, "s_within": shapely.within, "s_contains": shapely.contains,
            "s_disjoint": shapely.disjoint, "s_equals": shapely.equals, "s_touches": shapely.touches,
            "s_overlaps": shapely.overlaps, "s_crosses": shapely.crosses}


def _spatial_eval(op: str, args: tuple, cols: Columns) -> np.ndarray:
    a, b = args
    geoms = cols.geoms
    if isinstance(a, Lit) and isinstance(b, Prop):  # literal first: swap, and the relation with it
        a, b = b, a
        op = {"s_within": "s_contains", "s_contains": "s_within"}.get(op, op)
    if isinstance(b, Prop):
        return np.asarray(_SHAPELY[op](geoms, geoms), dtype=bool)
    return np.asarray(_SHAPELY[op](geoms, b.value), dtype=bool)


def _temporal_as_comparison(op: str, args: tuple) -> Op:
    """T_* as comparisons: the date fields are instants, and for an instant that is what they mean
    (T_DURING: strictly inside the interval; an open end ('..') bounds nothing)."""
    prop, lit = args
    if op == "t_during":
        start, end = lit.value
        parts = []
        if start.kind != "open":
            parts.append(Op(">", (prop, start)))
        if end.kind != "open":
            parts.append(Op("<", (prop, end)))
        return Op("and", tuple(parts)) if len(parts) > 1 else parts[0] if parts else Op("not", (Op("isnull",
                                                                                                  (prop,)),))
    if lit.kind == "interval":
        start, end = lit.value
        bound = start if op == "t_before" else end
        return Op({"t_before": "<", "t_after": ">", "t_equals": "="}[op], (prop, bound))
    return Op({"t_before": "<", "t_after": ">", "t_equals": "="}[op], (prop, lit))


# ------------------------------------------------------------------ SQL (the PostGIS store)

_SQL_CMP = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ST = {"s_intersects": "ST_Intersects", "s_within": "ST_Within", "s_contains": "ST_Contains",
       "s_disjoint": "ST_Disjoint", "s_equals": "ST_Equals", "s_touches": "ST_Touches", "s_overlaps": "ST_Overlaps",
       "s_crosses": "ST_Crosses"}
_CASTS = {"string": "text", "number": "double precision", "boolean": "boolean", "date": "timestamptz",
          "timestamp": "timestamptz"}


def to_sql(node: Node, spec: LayerSpec) -> tuple[Any, list[Any]]:
    """A WHERE condition and its parameters. Names come only from the checked tree (quoted as identifiers),
    every value is a bound parameter with an explicit cast: nothing of the filter text reaches the SQL."""
    builder = _SqlBuilder()
    condition = builder.walk(node)
    if isinstance(node, Prop):  # a boolean property on its own: unknown (NULL) is not true
        condition = builder.sql.SQL("({} IS TRUE)").format(condition)
    return condition, builder.params


class _SqlBuilder:
    def __init__(self):
        from psycopg import sql  # deferred: psycopg is the optional PostGIS extra; the embedded store never needs it

        self.sql = sql
        self.params: list[Any] = []

    def value(self, n: Node, kind: str) -> Any:
        if isinstance(n, Prop):
            return self.prop(n)
        v = n.value
        if kind in ("date", "timestamp"):
            v = _as_time(v)
        elif n.casei and isinstance(v, str):
            v = v.lower()
        self.params.append(v)
        return self.sql.SQL("%s::" + _CASTS.get(kind, "text"))

    def prop(self, n: Prop) -> Any:
        sql = self.sql
        if n.name == "id":
            return sql.SQL("id::double precision")
        if n.kind == "geometry":
            return sql.SQL("geom")
        col = sql.Identifier(n.name)
        if n.kind == "date":
            return sql.SQL("({}::timestamp AT TIME ZONE 'UTC')").format(col)
        if n.casei:
            return sql.SQL("lower({})").format(col)
        if n.kind == "number":
            return sql.SQL("{}::double precision").format(col)
        return col

    def geometry(self, x: Node) -> Any:
        if isinstance(x, Prop):
            return self.sql.SQL("geom")
        self.params.append(shapely.to_wkb(x.value, output_dimension=2))
        return self.sql.SQL("ST_GeomFromWKB(%s, 4326)")

    def walk(self, n: Node) -> Any:
        sql = self.sql
        if isinstance(n, Prop):
            return self.prop(n)
        op, args = n.op, n.args
        if op in ("and", "or"):
            return sql.SQL("(") + sql.SQL(f" {op.upper()} ").join(self.walk(a) for a in args) + sql.SQL(")")
        if op == "not":
            return sql.SQL("(NOT {})").format(self.walk(args[0]))
        if op == "isnull":
            return sql.SQL("({} IS NULL)").format(self.value(args[0], "text"))
        if op in _ST:
            return sql.SQL(_ST[op] + "({}, {})").format(self.geometry(args[0]), self.geometry(args[1]))
        return self.comparison(op, args)

    def comparison(self, op: str, args: tuple) -> Any:
        sql = self.sql
        kinds = [a.kind for a in args if a.kind != "null"]
        k = "timestamp" if any(x in ("date", "timestamp") for x in kinds) else (kinds[0] if kinds else "text")
        if op in _SQL_CMP:
            return sql.SQL("({} " + _SQL_CMP[op] + " {})").format(self.value(args[0], k), self.value(args[1], k))
        if op == "between":
            return sql.SQL("({} BETWEEN {} AND {})").format(*(self.value(a, k) for a in args))
        if op == "in":
            items = sql.SQL(", ").join(self.value(a, k) for a in args[1:])
            return sql.SQL("({} IN ({}))").format(self.value(args[0], k), items)
        if op == "like":
            return sql.SQL("({} LIKE {})").format(self.value(args[0], "string"), self.value(args[1], "string"))
        raise CqlError(f"filter: {op!r} cannot be evaluated")
