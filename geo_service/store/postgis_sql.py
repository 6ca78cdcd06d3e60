"""SQL for reading a layer: a ``Query`` turned into WHERE / ORDER BY / select lists.

Identifiers come only from the validated catalog and are quoted with ``sql.Identifier``;
every value travels as a bound parameter with an explicit cast to the column's type.
Semantics follow the embedded store exactly (aliases in filter values, NULL handling,
case-insensitive substring ``like``, nulls last when sorting, ties broken by id), and
so do the error messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from psycopg import sql

from ..catalog import FieldSpec, LayerSpec
from ..crs import metric_crs
from . import cql, mvt
from .errors import InvalidQuery
from .filtering import coerce_value
from .postgis_schema import CAST_TYPES
from .query import FILTER_OPS, PREDICATES, Filter, Query, check_bbox, check_properties

INT64 = (-(2**63), 2**63 - 1)
# pandas dtypes of query results, as the embedded store has them
PANDAS_DTYPES = {"string": object, "integer": "Int64", "number": "float64", "boolean": "boolean",
                 "date": object, "datetime": object, "list": object}
DATETIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'
# metres per degree, for the index prefilter of dwithin (grown 5 % on purpose: the exact test follows
# in the metric CRS)
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass
class Where:
    parts: list[sql.Composable] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, part: sql.Composable, *params: Any) -> None:
        self.parts.append(part)
        self.params.extend(params)

    def sql(self) -> sql.Composable:
        if not self.parts:
            return sql.SQL("")
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(self.parts)


def column_expr(f: FieldSpec, table: str | None = None) -> sql.Composable:
    """A field as the store returns it: dates and times as the ISO text the embedded store keeps."""
    col = sql.Identifier(table, f.name) if table else sql.Identifier(f.name)
    if f.type == "date":
        return sql.SQL("to_char({}, 'YYYY-MM-DD')").format(col)
    if f.type == "datetime":
        return sql.SQL("to_char({} AT TIME ZONE 'UTC', {})").format(col, sql.Literal(DATETIME_FORMAT))
    return col


def cast(f: FieldSpec, array: bool = False) -> sql.Composable:
    """A bound parameter cast to the field's column type."""
    return sql.SQL("%s::" + CAST_TYPES[f.type] + ("[]" if array else ""))


projection = check_properties  # the same rule as the embedded store


def build_where(spec: LayerSpec, q: Query, configured_metric_crs: str | None) -> Where:
    w = Where()
    if q.bbox is not None:
        # && alone would do for points if the index held doubles, but GiST keys are float4 boxes rounded
        # outwards: the exact test keeps edge points out, as the embedded store's double-precision rtree does.
        # The box is ST_Envelope of its diagonal, so a degenerate bbox is the point or line it is: the
        # zero-area polygon ST_MakeEnvelope makes of it intersects nothing with GEOS 3.11 (PostGIS 3.3 on
        # Debian 12), not even the point a point bbox (e.g. a projected point bbox brought back to lon/lat)
        # was drawn around.
        w.add(sql.SQL("ST_Intersects(geom, ST_SetSRID(ST_Envelope(ST_MakeLine(ST_MakePoint(%s, %s), "
                      "ST_MakePoint(%s, %s))), 4326))"), *check_bbox(q.bbox))
    if q.geometry is not None:
        _spatial(w, q, configured_metric_crs)
    if q.ids is not None:
        try:
            ids = [i for i in map(int, q.ids) if INT64[0] <= i <= INT64[1]]
        except (TypeError, ValueError):
            raise InvalidQuery("ids must be integers") from None
        w.add(sql.SQL("id = ANY(%s::bigint[])"), ids)
    for flt in q.filters:
        _filter(w, spec, flt)
    if q.cql is not None:
        condition, params = cql.to_sql(q.cql, spec)
        w.add(condition, *params)
    return w


def _spatial(w: Where, q: Query, configured: str | None) -> None:
    if q.predicate not in PREDICATES:
        raise InvalidQuery(f"unknown spatial predicate {q.predicate!r}; use one of {', '.join(PREDICATES)}")
    g = q.geometry
    if g.is_empty or not g.is_valid:
        raise InvalidQuery("the query geometry is empty or invalid")
    wkb = shapely.to_wkb(g, output_dimension=2)
    if q.predicate != "dwithin":
        fn = {"intersects": "ST_Intersects", "within": "ST_Within", "contains": "ST_Contains"}[q.predicate]
        w.add(sql.SQL(fn + "(geom, ST_GeomFromWKB(%s, 4326))"), wkb)
        return
    d = q.distance_m
    if d is None or not (0 <= d <= 1_000_000):
        raise InvalidQuery("within-distance needs distance_m between 0 and 1,000,000 metres")
    # index prefilter: the query geometry's bounds grown by the distance in degrees (with margin)
    minx, miny, maxx, maxy = g.bounds
    dlat = d / _M_PER_DEG_LAT * 1.05 + 1e-9
    top = min(max(abs(miny), abs(maxy)) + dlat, 89.9)
    dlon = d / (_M_PER_DEG_LON_EQUATOR * max(math.cos(math.radians(top)), 1e-6)) * 1.05 + 1e-9
    w.add(sql.SQL("geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"), minx - dlon, miny - dlat, maxx + dlon,
          maxy + dlat)
    # exact test in the metric CRS the embedded store uses (configured, else the UTM zone of the query)
    crs = metric_crs(g.bounds, configured)
    epsg = crs.to_epsg()
    target, to = (sql.SQL("%s::integer"), epsg) if epsg else (sql.SQL("%s::text"), crs.to_proj4())
    w.add(sql.SQL("ST_DWithin(ST_Transform(geom, {t}), ST_Transform(ST_GeomFromWKB(%s, 4326), {t}), %s)").format(
        t=target), to, wkb, to, float(d))


def _filter(w: Where, spec: LayerSpec, flt: Filter) -> None:
    if flt.op not in FILTER_OPS:
        raise InvalidQuery(f"unknown filter operator {flt.op!r}; use one of {', '.join(FILTER_OPS)}")
    if flt.field == "id":
        f = FieldSpec(name="id", type="integer", title=spec.title)
    elif spec.has_field(flt.field):
        f = spec.field(flt.field)
    else:
        raise InvalidQuery(f"{spec.id}: cannot filter on unknown field {flt.field!r}; "
                           f"fields: {', '.join(spec.field_names)}")
    col = sql.Identifier(f.name)
    if f.type == "list":
        _list_filter(w, f, flt)
        return
    if flt.op == "in":
        raw = flt.value if isinstance(flt.value, list | tuple | set) else [flt.value]
        values = [_bindable(f, coerce_value(f, v)) for v in raw]
        present = [v for v in values if v is not None]
        part = sql.SQL("{} = ANY({})").format(col, cast(f, array=True))
        if None in values:
            part = sql.SQL("({} OR {} IS NULL)").format(part, col)
        w.add(part, present)
        return
    value = _bindable(f, coerce_value(f, flt.value))
    if flt.op == "like":
        if f.type != "string":
            raise InvalidQuery(f"'like' works on text fields; {f.name!r} is {f.type}")
        # a plain case-insensitive substring test, as the embedded store does: % and _ are not wildcards
        w.add(sql.SQL('strpos(lower({} COLLATE "default"), %s) > 0').format(col), str(value).lower())
        return
    if value is None:
        if flt.op not in ("eq", "ne"):
            raise InvalidQuery(f"{f.name}: cannot compare with an empty value")
        w.add(sql.SQL("{} IS NULL" if flt.op == "eq" else "{} IS NOT NULL").format(col))
        return
    if flt.op == "ne":
        # pandas semantics of the embedded store: a missing value differs from any value, except in the
        # nullable integer and boolean columns, where the comparison is unknown and so not a match
        op = "<>" if f.type in ("integer", "boolean") else "IS DISTINCT FROM"
    else:
        op = {"eq": "=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[flt.op]
    w.add(sql.SQL("{} " + op + " {}").format(col, cast(f)), value)


def _list_filter(w: Where, f: FieldSpec, flt: Filter) -> None:
    """eq / in: the array holds the value (any of them: &&, GIN-indexed); ne: it does not."""
    if flt.op not in ("eq", "in", "ne"):
        raise InvalidQuery(f"{f.name} is a list: filter it with eq (contains), in (contains any) or ne")
    given = flt.value if isinstance(flt.value, list | tuple | set) else [flt.value]
    wanted = [_bindable(f, coerce_value(f, v)) for v in given]
    test = sql.SQL("coalesce({} && %s::text[], false)").format(sql.Identifier(f.name))
    w.add(sql.SQL("NOT ") + test if flt.op == "ne" else test, wanted)


def _bindable(f: FieldSpec, value: Any) -> Any:
    """Refuse values PostgreSQL cannot take as parameters (clear 400s rather than driver errors)."""
    if value is None:
        return None
    if f.type == "integer" and not (INT64[0] <= value <= INT64[1]):
        raise InvalidQuery(f"{f.name}: {value} is out of the 64-bit integer range")
    if isinstance(value, str):
        reason = text_problem(value)
        if reason:
            raise InvalidQuery(f"{f.name}: the value {reason}")
    return value


def text_problem(value: str) -> str | None:
    """Why PostgreSQL cannot store this text (NUL characters, lone surrogates), or None."""
    if "\x00" in value:
        return "contains a NUL character, which PostgreSQL text cannot hold"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


def order_by(spec: LayerSpec, sort: list[tuple[str, bool]]) -> sql.Composable:
    keys: list[sql.Composable] = []
    for name, asc in sort:
        if name != "id" and not spec.has_field(name):
            raise InvalidQuery(f"{spec.id}: cannot sort by unknown field {name!r}")
        keys.append(sql.SQL("{} " + ("ASC" if asc else "DESC") + " NULLS LAST").format(sql.Identifier(name)))
    if not any(name == "id" for name, _ in sort):
        keys.append(sql.SQL("id"))
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(keys)


def paging(q: Query) -> tuple[sql.Composable, list[int]]:
    if q.offset is None or q.offset < 0:
        raise InvalidQuery(f"offset={q.offset}: must not be negative")
    if q.limit is not None and q.limit < 0:
        raise InvalidQuery(f"limit={q.limit}: must not be negative")
    part, params = sql.SQL(""), []
    if q.limit is not None:
        part, params = sql.SQL(" LIMIT %s"), [int(q.limit)]
    if q.offset:
        part += sql.SQL(" OFFSET %s")
        params.append(int(q.offset))
    return part, params


def geojson_expr(spec: LayerSpec, names: list[str], precision: int) -> tuple[sql.Composable, list[Any]]:
    """One feature's GeoJSON as UTF-8 bytes, built in the database (id, geometry, properties)."""
    props = sql.SQL(", ").join(sql.SQL("{} AS {}").format(column_expr(spec.field(n), "t"), sql.Identifier(n))
                               for n in names)
    props_json = sql.SQL("row_to_json((SELECT p FROM (SELECT {}) p))::text").format(props) if names \
        else sql.SQL("'{}'")
    expr = sql.SQL("convert_to({} || t.id || {} || coalesce(ST_AsGeoJSON(t.geom, %s), 'null') || {} || {} || {}, "
                   "'UTF8')").format(sql.Literal('{"type":"Feature","id":'), sql.Literal(',"geometry":'),
                                     sql.Literal(',"properties":'), props_json, sql.Literal("}"))
    return expr, [int(precision)]


def tile_sql(spec: LayerSpec, z: int, x: int, y: int) -> tuple[sql.Composable, list[Any]]:
    """One Mapbox Vector Tile of the layer, cut by PostGIS with the embedded encoder's settings.

    Same layer name, extent, buffer, feature ids and property values (dates and times as the same
    ISO text): the contract test decodes both. The GiST index picks the rows through the tile's
    envelope grown by the buffer, taken to lon/lat (a Mercator rectangle is a lon/lat rectangle).
    """
    margin = mvt.BUFFER / mvt.EXTENT
    props = sql.SQL("").join(sql.SQL(", {} AS {}").format(column_expr(f, "t"), sql.Identifier(f.name))
                             for f in mvt.tile_fields(spec))
    stmt = sql.SQL(
        "WITH b AS (SELECT ST_TileEnvelope(%s, %s, %s) AS env, ST_TileEnvelope(%s, %s, %s, margin => %s) AS pad), "
        "m AS (SELECT t.id, ST_AsMVTGeom(ST_Transform(t.geom, 3857), b.env, %s, %s, true) AS mvt_geom{props} "
        "FROM {table} AS t, b WHERE t.geom && ST_Transform(b.pad, 4326)) "
        "SELECT coalesce(ST_AsMVT(m, %s, %s, 'mvt_geom', 'id'), ''::bytea) FROM m WHERE m.mvt_geom IS NOT NULL"
    ).format(props=props, table=sql.Identifier(spec.id))
    return stmt, [z, x, y, z, x, y, margin, mvt.EXTENT, mvt.BUFFER, spec.id, mvt.EXTENT]
