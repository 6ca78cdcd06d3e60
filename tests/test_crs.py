"""Tests for geo_service.crs: GCJ-02/BD-09 shifts, CRS parsing, geometry reprojection, metric CRS."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon

from geo_service import crs
from geo_service.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    frame_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    metric_crs,
    parse_crs,
    to_wgs84,
    utm_crs_for,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = pyproj.Geod(ellps="WGS84")

# Public eviltransform test vectors, given as (lat, lon).
SHANGHAI_WGS = (31.1774276, 121.5272106)
SHANGHAI_GCJ = (31.17530398364597, 121.531541859215)
BEIJING_WGS = (39.911954, 116.377817)
BEIJING_GCJ = (39.91334545536069, 116.38404722455657)
EVIL_BD = (29.199786, 120.019809)
EVIL_BD_WGS = (29.196131605295484, 120.00877901149691)


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# --- reference vectors ------------------------------------------------------------------------


@pytest.mark.parametrize(("wgs", "gcj"), [(SHANGHAI_WGS, SHANGHAI_GCJ), (BEIJING_WGS, BEIJING_GCJ)])
def test_wgs84_to_gcj02_reference_vectors(wgs, gcj):
    lon, lat = wgs84_to_gcj02(wgs[1], wgs[0])
    assert abs(lon - gcj[1]) < 1e-7
    assert abs(lat - gcj[0]) < 1e-7


def test_gcj02_to_bd09_reference_vector():
    # gcj02ToBd09(116.404, 39.915) from the coordtransform / hutool test suites (x_pi constant).
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert abs(lon - 116.41036949371029) < 1e-9
    assert abs(lat - 39.92133699351022) < 1e-9


def test_bd09_to_gcj02_matches_closed_form_reference():
    # Their closed-form (one-step) bd09ToGcj02(116.404, 39.915); ours iterates, which moves it < 1e-6 deg.
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert abs(lon - 116.39762729119315) < 1e-6
    assert abs(lat - 39.90865673957631) < 1e-6
    assert np.allclose(gcj02_to_bd09(lon, lat), (116.404, 39.915), rtol=0, atol=1e-10)


def test_bd09_to_wgs84_inverts_wgs84_to_bd09_at_reference_point():
    lon, lat = bd09_to_wgs84(EVIL_BD[1], EVIL_BD[0])
    back = wgs84_to_bd09(lon, lat)
    assert np.allclose(back, (EVIL_BD[1], EVIL_BD[0]), rtol=0, atol=1e-9)


def test_eviltransform_bd_vector_is_an_artifact_of_its_pi_bug():
    """The eviltransform BD->WGS vector cannot be matched by the x_pi transform.

    eviltransform's BD code uses ``pi`` where the leaked Baidu formula has ``x_pi = pi * 3000 / 180``
    (googollee/eviltransform#43) and then a one-step GCJ inverse. That recipe reproduces the
    vector to 1e-9 deg; the correct transform lands ~10 m away, so the vector is not used as truth.
    """

    def evil_bd09_to_wgs84(lon, lat):
        x, y = lon - 0.0065, lat - 0.006
        z = np.hypot(x, y) - 0.00002 * np.sin(y * np.pi)
        theta = np.arctan2(y, x) - 0.000003 * np.cos(x * np.pi)
        g_lon, g_lat = z * np.cos(theta), z * np.sin(theta)
        d_lon, d_lat = crs._gcj_offset(g_lon, g_lat)
        return g_lon - d_lon, g_lat - d_lat

    evil = evil_bd09_to_wgs84(EVIL_BD[1], EVIL_BD[0])
    assert np.allclose(evil, (EVIL_BD_WGS[1], EVIL_BD_WGS[0]), rtol=0, atol=1e-9)
    ours = bd09_to_wgs84(EVIL_BD[1], EVIL_BD[0])
    assert metres(*ours, EVIL_BD_WGS[1], EVIL_BD_WGS[0]) > 5.0


# --- inverse accuracy -------------------------------------------------------------------------

china_lon = st.floats(min_value=73.5, max_value=135.0)
china_lat = st.floats(min_value=18.0, max_value=53.5)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_wgs_gcj_wgs(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres(lon, lat, *back) < 0.01


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_wgs_bd_wgs(lon, lat):
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *back) < 0.01


def test_round_trip_vectorised_over_many_points():
    rng = np.random.default_rng(42)
    lon = rng.uniform(73.5, 135.0, 20_000)
    lat = rng.uniform(18.0, 53.5, 20_000)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert g_lon.shape == lon.shape
    assert metres(lon, lat, *gcj02_to_wgs84(g_lon, g_lat)).max() < 0.01
    assert metres(lon, lat, *bd09_to_wgs84(*wgs84_to_bd09(lon, lat))).max() < 0.01


def test_iterative_inverse_beats_one_step_inverse():
    g_lon, g_lat = np.float64(SHANGHAI_GCJ[1]), np.float64(SHANGHAI_GCJ[0])
    d_lon, d_lat = crs._gcj_offset(g_lon, g_lat)
    one_step = metres(g_lon - d_lon, g_lat - d_lat, SHANGHAI_WGS[1], SHANGHAI_WGS[0])
    ours = metres(*gcj02_to_wgs84(g_lon, g_lat), SHANGHAI_WGS[1], SHANGHAI_WGS[0])
    assert one_step > 0.5
    assert ours < 0.01
    assert ours * 100 < one_step


def test_scalars_give_arrays_and_shapes_broadcast():
    lon, lat = wgs84_to_gcj02(121.5, 31.2)
    assert isinstance(lon, np.ndarray) and lon.shape == ()
    for fn in (gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84):
        out = fn(121.5, 31.2)
        assert all(isinstance(v, np.ndarray) and v.shape == () for v in out)
    lon, lat = wgs84_to_gcj02([121.5, 116.4], 31.2)
    assert lon.shape == lat.shape == (2,)


@pytest.mark.parametrize(
    ("lon", "lat"), [(139.6917, 35.6895), (-0.1276, 51.5072), (-104.9903, 39.7392), (151.2, -33.9)]
)
def test_points_outside_china_are_not_shifted(lon, lat):
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_nan_passes_through():
    lon, lat = gcj02_to_wgs84([np.nan, 121.5], [np.nan, 31.2])
    assert np.isnan(lon[0]) and np.isnan(lat[0])
    assert np.isfinite(lon[1]) and np.isfinite(lat[1])


# --- parse_crs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "epsg"),
    [
        ("EPSG:4549", 4549),
        ("epsg:4490", 4490),
        ("4326", 4326),
        (4326, 4326),
        (np.int64(4549), 4549),
        ("http://www.opengis.net/def/crs/EPSG/0/4490", 4490),
        ("urn:ogc:def:crs:EPSG::4326", 4326),
        ("wgs84", 4326),
        ("WGS-84", 4326),
        ("cgcs2000", 4490),
        ("CGCS2000", 4490),
        (pyproj.CRS.from_epsg(32651).to_wkt(), 32651),
        (pyproj.CRS.from_epsg(32651), 32651),
        (None, 4326),
    ],
)
def test_parse_crs_epsg_forms(text, epsg):
    parsed = parse_crs(text)
    assert isinstance(parsed, pyproj.CRS)
    assert parsed.to_epsg() == epsg


@pytest.mark.parametrize("text", ["CRS84", "OGC:CRS84", "crs84"])
def test_parse_crs_crs84(text):
    parsed = parse_crs(text)
    assert parsed == pyproj.CRS("OGC:CRS84")


def test_parse_crs_proj_string():
    parsed = parse_crs("+proj=utm +zone=51 +datum=WGS84 +units=m +no_defs")
    assert parsed.is_projected
    assert parsed.utm_zone == "51N"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("Gcj02", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        (" bd09 ", "bd09"),
    ],
)
def test_parse_crs_shifted(text, canonical):
    assert parse_crs(text) == canonical
    assert canonical in crs.SHIFTED


@pytest.mark.parametrize("junk", ["junk", "", "EPSG:99999", 99999, "not a crs", 4326.0, True])
def test_parse_crs_rejects_junk_clearly(junk):
    with pytest.raises(ValueError) as info:
        parse_crs(junk)
    message = str(info.value)
    assert repr(junk) in message
    assert "EPSG" in message and "gcj02" in message


# --- geometry conversion ----------------------------------------------------------------------

# A square with a square hole, in CGCS2000 / 3-degree Gauss-Kruger CM 120E (x = easting), near Hangzhou.
E0, N0 = 514_000.0, 3_350_000.0
SHELL = [(E0, N0), (E0 + 400, N0), (E0 + 400, N0 + 300), (E0, N0 + 300), (E0, N0)]
HOLE = [(E0 + 100, N0 + 100), (E0 + 200, N0 + 100), (E0 + 200, N0 + 200), (E0 + 100, N0 + 200)]


def test_to_wgs84_polygon_with_hole_from_gauss_kruger_round_trips():
    poly = Polygon(SHELL, [HOLE])
    out = to_wgs84(np.array([poly]), parse_crs("EPSG:4549"))
    assert isinstance(out, np.ndarray) and out.shape == (1,)
    geom = out[0]
    assert geom.geom_type == "Polygon" and len(geom.interiors) == 1
    lon, lat = geom.exterior.coords[0]
    assert 120.0 < lon < 120.3 and 30.0 < lat < 30.5  # x is longitude
    expected = pyproj.Transformer.from_crs(4549, 4326, always_xy=True).transform(E0, N0)
    assert np.allclose((lon, lat), expected, rtol=0, atol=1e-12)

    back = from_wgs84(out, "EPSG:4549")[0]
    assert np.abs(shapely.get_coordinates(back) - shapely.get_coordinates(poly)).max() < 1e-3
    assert abs(back.area - poly.area) < 1e-3


def test_to_wgs84_from_gcj02_multipolygon():
    wgs = MultiPolygon(
        [
            Polygon([(121.50, 31.20), (121.51, 31.20), (121.51, 31.21), (121.50, 31.20)]),
            Polygon(
                [(121.52, 31.22), (121.54, 31.22), (121.54, 31.24), (121.52, 31.24), (121.52, 31.22)],
                [[(121.525, 31.225), (121.53, 31.225), (121.53, 31.23), (121.525, 31.225)]],
            ),
        ]
    )
    gcj = from_wgs84(np.array([wgs]), "gcj02")[0]
    # Every vertex moves by the GCJ-02 offset (a few hundred metres here).
    shifted = np.column_stack(wgs84_to_gcj02(*shapely.get_coordinates(wgs).T))
    assert np.allclose(shapely.get_coordinates(gcj), shifted, rtol=0, atol=1e-12)
    assert metres(121.50, 31.20, *shapely.get_coordinates(gcj)[0]) > 100

    back = to_wgs84(np.array([gcj]), "gcj02")[0]
    assert back.geom_type == "MultiPolygon" and len(back.geoms) == 2
    assert len(back.geoms[1].interiors) == 1
    assert np.abs(shapely.get_coordinates(back) - shapely.get_coordinates(wgs)).max() < 1e-9


def test_to_wgs84_from_bd09_round_trip_and_none_passthrough():
    pts = np.array([Point(120.1, 30.2), None, Point(116.4, 39.9)], dtype=object)
    out = to_wgs84(from_wgs84(pts, "bd09"), "bd09")
    assert out[1] is None
    got = shapely.get_coordinates(out[[0, 2]])
    assert np.abs(got - [[120.1, 30.2], [116.4, 39.9]]).max() < 1e-9


@pytest.mark.parametrize("source", ["EPSG:4326", "OGC:CRS84", 4326, None])
def test_to_wgs84_from_wgs84_is_unchanged(source):
    pts = np.array([Point(121.5, 31.2), Point(116.4, 39.9)], dtype=object)
    out = to_wgs84(pts, None if source is None else parse_crs(source))
    assert all(a is b for a, b in zip(out, pts, strict=True))


def test_to_wgs84_keeps_z():
    out = to_wgs84(np.array([Point(E0, N0, 12.5), Point(E0, N0)]), parse_crs(4549))
    assert shapely.has_z(out).tolist() == [True, False]
    assert shapely.get_coordinates(out[0], include_z=True)[0, 2] == 12.5


def test_to_wgs84_accepts_geoseries_and_geodataframe():
    series = gpd.GeoSeries([Polygon(SHELL, [HOLE])], crs="EPSG:4549")
    from_series = to_wgs84(series, parse_crs(4549))
    from_frame = to_wgs84(gpd.GeoDataFrame({"name": ["a"]}, geometry=series), parse_crs(4549))
    from_own_crs = to_wgs84(series, None)
    assert from_series[0].equals_exact(from_frame[0], 0) and from_series[0].equals_exact(from_own_crs[0], 0)


def test_frame_to_wgs84_uses_frame_crs_and_copies():
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Polygon(SHELL, [HOLE])], crs="EPSG:4549")
    out = frame_to_wgs84(gdf)
    assert out.crs == pyproj.CRS.from_epsg(4326)
    assert out["name"].tolist() == ["a"]
    assert 120.0 < out.geometry.iloc[0].exterior.coords[0][0] < 120.3
    assert gdf.crs.to_epsg() == 4549 and gdf.geometry.iloc[0].exterior.coords[0] == (E0, N0)


def test_frame_to_wgs84_explicit_source_and_missing_crs():
    gdf = gpd.GeoDataFrame({"v": [1]}, geometry=[Point(121.53154, 31.17530)])
    assert frame_to_wgs84(gdf).geometry.iloc[0].equals(gdf.geometry.iloc[0])  # no crs: assume WGS84
    shifted = frame_to_wgs84(gdf, "gcj02")
    assert shifted.crs == pyproj.CRS.from_epsg(4326)
    assert metres(121.53154, 31.17530, shifted.geometry.iloc[0].x, shifted.geometry.iloc[0].y) > 100


# --- metric CRS -------------------------------------------------------------------------------


def test_utm_crs_for():
    assert utm_crs_for(121.47, 31.23).to_epsg() == 32651
    assert utm_crs_for(116.4, 39.9).to_epsg() == 32650
    assert utm_crs_for(151.2, -33.9).to_epsg() == 32756
    assert utm_crs_for(180.0, 0.0).to_epsg() == 32660
    with pytest.raises(ValueError):
        utm_crs_for(float("nan"), 30.0)


def test_metric_crs_defaults_to_utm_zone_of_bounds_centre():
    shanghai = (121.1, 30.9, 121.9, 31.5)
    assert metric_crs(shanghai).to_epsg() == 32651


def test_metric_crs_uses_configured_projected_crs():
    assert metric_crs((121.1, 30.9, 121.9, 31.5), "EPSG:4549").to_epsg() == 4549


@pytest.mark.parametrize("configured", ["EPSG:4326", "EPSG:4490", "gcj02", "EPSG:2263"])
def test_metric_crs_rejects_non_metric(configured):
    # 2263 is projected but in US survey feet.
    with pytest.raises(ValueError, match="metres"):
        metric_crs((121.1, 30.9, 121.9, 31.5), configured)
