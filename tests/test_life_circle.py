"""Life circles on hand-built networks whose walks are worked out here, and against networkx's shortest paths."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geo_service.analysis.life_circle import isochrones, road_network
from geo_service.analysis.network import RoadNetwork
from geo_service.analysis.registry import run
from geo_service.ingest.osm import read_osm

from .test_ingest_common import CATALOG
from .test_ingest_osm import node, osm

UTM = "EPSG:32651"
X0, Y0 = 350_000.0, 3_450_000.0  # near Shanghai in UTM 51N


def frame(geoms, crs=UTM, **cols):
    n = len(geoms)
    return gpd.GeoDataFrame({"id": np.arange(1, n + 1), **cols}, geometry=list(geoms), crs=crs)


def line(*xy):
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in xy])


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def pt(x, y):
    return shapely.Point(X0 + x, Y0 + y)


def walks(result):
    w = result["walks"]
    return {(int(r.compound_id), r.category): r for r in w.itertuples()}


# A river between y=0 and y=400 with one bridge at x=350: the market on the north bank is 400 m from the
# compound in a straight line, 350 + 400 + 350 = 1,100 m on foot (the compound's corner touches the
# south street at x=0).
RIVER_ROADS = [line((-100, 0), (1200, 0)), line((-100, 400), (1200, 400)), line((350, 0), (350, 400))]
RIVER_COMPOUND = box(-100, -100, 0, 0)
MARKET = pt(0, 400)


def river(crs=UTM, **params):
    compounds = frame([RIVER_COMPOUND], households=[800], name=["南岸小区"], street=["江川路街道"])
    facilities = frame([MARKET], category=["market"], status=["working"])
    roads = frame(RIVER_ROADS)
    if crs != UTM:
        compounds, facilities, roads = (f.to_crs(crs) for f in (compounds, facilities, roads))
    return run("life-circle", {"compounds": compounds, "service_facilities": facilities, "roads": roads}, params)


def test_river_with_one_bridge_puts_the_market_outside_the_10_minute_circle():
    assert shapely.distance(RIVER_COMPOUND, MARKET) == pytest.approx(400)
    row = walks(river())[(1, "market")]
    assert row.walk_m == pytest.approx(1100, abs=0.05)
    assert row.circle_min == 10 and row.radius_m == 500
    assert not row.within and not row.estimated
    assert row.households_affected == 800
    compound = river()["compounds"].iloc[0]
    assert not compound.complete_10 and "market" in compound.missing
    assert compound.walk_m_market == pytest.approx(1100, abs=0.05)


def test_without_roads_the_walk_is_straight_line_times_detour_and_flagged():
    compounds = frame([RIVER_COMPOUND], households=[800])
    facilities = frame([MARKET], category=["market"], status=["working"])
    result = run("life-circle", {"compounds": compounds, "service_facilities": facilities, "roads": None},
                 {"detour_factor": 1.3})
    row = walks(result)[(1, "market")]
    assert row.walk_m == pytest.approx(400 * 1.3, abs=0.05) and row.estimated and not row.within
    assert result.summary["estimated_walks"] == 1


def test_a_facility_far_from_the_network_is_estimated_the_rest_routed():
    facilities = frame([MARKET, pt(0, 2000)], category=["market", "park"], status=["working", "working"])
    result = run("life-circle", {"compounds": frame([RIVER_COMPOUND], households=[10]),
                                 "service_facilities": facilities, "roads": frame(RIVER_ROADS)},
                 {"snap_max_m": 200, "detour_factor": 1.4})
    w = walks(result)
    assert not w[(1, "market")].estimated
    assert w[(1, "park")].estimated  # 1,600 m from the north street: not covered
    assert w[(1, "park")].walk_m == pytest.approx(2000 * 1.4, abs=0.05)


def test_crs_invariance_4326_and_gauss_kruger():
    base = walks(river())[(1, "market")].walk_m
    for crs in ("EPSG:4326", "EPSG:4549"):
        got = walks(river(crs))[(1, "market")].walk_m
        assert got == pytest.approx(base, rel=0.005), crs
    assert base == pytest.approx(1100, rel=0.005)


def test_entrance_on_the_far_side_of_a_walled_block():
    # A walled block W (no road through it) lies between compound C and the market. C's only road is the
    # north street (20 m beyond its north wall), so its residents walk west, south and east around W:
    # from the north-street node at x=0 (20 m leg): 300 west + 420 south + 400 east = 1,140 m.
    walled = box(0, 0, 200, 200)
    compound = box(0, 200, 200, 300)
    roads = frame([line((-300, 320), (500, 320)), line((-300, 320), (-300, -100)), line((-300, -100), (500, -100))])
    market = pt(100, -100)
    compounds = frame([compound, walled], households=[300, 0], name=["C", "W"])
    result = run("life-circle", {"compounds": compounds, "roads": roads,
                                 "service_facilities": frame([market], category=["market"], status=["working"])})
    row = walks(result)[(1, "market")]
    assert shapely.distance(compound, market) == pytest.approx(300)
    assert row.walk_m == pytest.approx(20 + 300 + 420 + 400, abs=0.05)
    assert not row.within and not row.estimated


def test_closed_facility_does_not_count():
    roads = frame(RIVER_ROADS)
    compounds = frame([RIVER_COMPOUND], households=[50])
    near_closed = frame([pt(100, 0), pt(300, 0)], category=["kindergarten", "kindergarten"],
                        status=["closed", "working"])
    w = walks(run("life-circle", {"compounds": compounds, "service_facilities": near_closed, "roads": roads}))
    assert w[(1, "kindergarten")].walk_m == pytest.approx(300, abs=0.05) and w[(1, "kindergarten")].within
    only_closed = frame([pt(100, 0)], category=["kindergarten"], status=["closed"])
    result = run("life-circle", {"compounds": compounds, "service_facilities": only_closed, "roads": roads})
    row = walks(result)[(1, "kindergarten")]
    assert np.isnan(row.walk_m) and not row.within and row.households_affected == 50
    assert result.summary["facilities_counted"] == 0


def test_complete_circles_and_street_shares():
    roads = frame(RIVER_ROADS)
    five = ["kindergarten", "elderly_day_care", "community_service_station", "health_station",
            "convenience_store", "fitness_ground"]
    facilities = frame([pt(50, 0)] * len(five), category=five, status=["working"] * len(five))
    compounds = frame([RIVER_COMPOUND, box(1000, -100, 1100, 0)], households=[600, 400], street=["S", "S"],
                      district=["D", "D"])
    result = run("life-circle", {"compounds": compounds, "service_facilities": facilities, "roads": roads})
    c = result["compounds"].loc[[1, 2]]
    # compound 1 reaches all six 5-minute categories 50 m away; compound 2 is 950 m away
    assert c.complete_5.tolist() == [True, False] and c.met_5.tolist() == [6, 0]
    street = result["streets"].iloc[0]
    assert street.households_complete_5 == 600 and street.share_complete_5 == pytest.approx(0.6)
    assert street.share_complete_10 == 0 and street.blind_spots == 2
    gaps = result["gaps"].set_index("category")
    assert gaps.loc["kindergarten", "households_affected"] == 400
    assert gaps.loc["market", "households_affected"] == 1000


def _jittered_grid(rng, n=8, step=100.0, drop=0.3):
    """Nodes of an n x n grid jittered by up to 20 m, and ~70 % of its edges as separate 2-point lines."""
    xy = {(i, j): (i * step + rng.uniform(-20, 20), j * step + rng.uniform(-20, 20))
          for i in range(n) for j in range(n)}
    edges = [((i, j), (i + di, j + dj)) for i in range(n) for j in range(n) for di, dj in ((1, 0), (0, 1))
             if i + di < n and j + dj < n and rng.random() > drop]
    return xy, edges


def _grid_streets(rng):
    """A jittered grid as node positions, a networkx graph weighted by length, and the road frame."""
    xy, edges = _jittered_grid(rng)
    graph = nx.Graph()
    for a, b in edges:
        graph.add_edge(a, b, weight=float(np.hypot(xy[a][0] - xy[b][0], xy[a][1] - xy[b][1])))
    return xy, graph, frame([line(xy[a], xy[b]) for a, b in edges])


def test_walks_equal_networkx_shortest_paths():
    rng = np.random.default_rng(17)
    xy, graph, roads = _grid_streets(rng)
    nodes = sorted(graph.nodes)
    picks = rng.choice(len(nodes), size=18, replace=False)
    homes = [nodes[k] for k in picks[:8]]
    cats = ["kindergarten", "market", "park"]
    shops = [(nodes[k], cats[i % 3]) for i, k in enumerate(picks[8:])]
    compounds = frame([box(xy[h][0] - 1, xy[h][1] - 1, xy[h][0] + 1, xy[h][1] + 1) for h in homes],
                      households=[100] * len(homes))
    facilities = frame([pt(*xy[s]) for s, _ in shops], category=[c for _, c in shops], status=["working"] * 10)
    result = run("life-circle", {"compounds": compounds, "service_facilities": facilities, "roads": roads},
                 {"entry_reach_m": 5, "max_walk_m": 20000})
    w = walks(result)
    checked = 0
    for cat in cats:
        sources = {s for s, c in shops if c == cat}
        dist = nx.multi_source_dijkstra_path_length(graph, sources, weight="weight")
        for k, home in enumerate(homes, start=1):
            got = w[(k, cat)].walk_m
            if home in dist:
                assert got == pytest.approx(dist[home], abs=0.06), (home, cat)
                checked += 1
            else:
                assert np.isnan(got), (home, cat)
    assert checked >= 20


def test_isochrones_cut_edges_at_the_remaining_distance():
    compound = frame([RIVER_COMPOUND])
    net = road_network(frame(RIVER_ROADS), UTM)
    areas = isochrones(compound, net, UTM, [5, 10, 15], buffer_m=10)
    assert areas.walk_m.tolist() == [300, 500, 1000] and not areas.estimated.any()
    ten = areas.to_crs(UTM).geometry.iloc[1]
    assert ten.contains(pt(480, 0))            # 480 m along the south street
    assert not ten.contains(pt(530, 0))        # 530 m
    assert ten.contains(pt(350, 140))          # bridge: 350 + 140 = 490 m
    assert not ten.contains(pt(350, 170))      # 520 m
    assert not ten.contains(MARKET)            # 1,100 m
    fifteen = areas.to_crs(UTM).geometry.iloc[2]
    assert fifteen.contains(pt(350, 400)) and fifteen.contains(pt(550, 400))  # 750 m and 950 m
    assert not fifteen.contains(pt(0, 400))


def test_network_from_sources_matches_pairwise_dijkstra():
    net = RoadNetwork(np.array(RIVER_ROADS, dtype=object))
    nodes, legs = net.snap(np.array([pt(0, 400), pt(1200, 0)], dtype=object))
    dist = net.from_sources(nodes, legs + 0.0, 5000)
    target = np.array([pt(600, 0)], dtype=object)
    one = net.pair_distances(np.array([pt(0, 400)], dtype=object), target, 5000)
    two = net.pair_distances(np.array([pt(1200, 0)], dtype=object), target, 5000)
    assert dist[net.snap(target)[0][0]] == pytest.approx(min(one[0], two[0]))


# ------------------------------------------------------------------ OSM extract -> layers -> life circle

def _osm_way(way: int, refs: list[int], **tags: str) -> str:
    nds = "".join(f'<nd ref="{r}"/>' for r in refs)
    inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return f'<way id="{way}" version="1">{nds}{inner}</way>'


def test_osm_extract_gives_the_walks_networkx_gives(tmp_path):
    """A 5 x 4 street grid (~110 m blocks) with a motorway and a foot=no path as tempting shortcuts,
    facilities as nodes (one closed) and as an area; roads and facilities go through the OSM import."""
    lon0, lat0, dlon, dlat = 121.40, 31.12, 0.00115, 0.001
    grid = {(i, j): 1000 + 10 * i + j for i in range(5) for j in range(4)}
    body = [node(nid, lon0 + i * dlon, lat0 + j * dlat) for (i, j), nid in grid.items()]
    ways, w = [], 1
    for j in range(4):  # east-west streets, the middle one missing between i=1 and i=3
        for i in range(4):
            if j == 2 and i in (1, 2):
                continue
            ways.append(_osm_way(w, [grid[i, j], grid[i + 1, j]], highway="residential"))
            w += 1
    for i in range(5):
        for j in range(3):
            ways.append(_osm_way(w, [grid[i, j], grid[i, j + 1]], highway="footway" if i == 4 else "tertiary"))
            w += 1
    ways.append(_osm_way(900, [grid[0, 0], grid[4, 3]], highway="motorway"))
    ways.append(_osm_way(901, [grid[0, 3], grid[4, 0]], highway="path", foot="no"))
    ways.append(_osm_way(902, [grid[1, 2], grid[3, 2]], highway="service", access="private"))
    body += [
        node(1, lon0 + 4 * dlon, lat0 + 3 * dlat, amenity="kindergarten", name="东幼儿园"),
        node(2, lon0 + 3 * dlon, lat0 + 2 * dlat, amenity="kindergarten", disused="yes"),
        node(3, lon0 + 2 * dlon, lat0 + 0 * dlat, shop="supermarket", name="联华"),
        node(4, lon0 + 0 * dlon, lat0 + 3 * dlat, highway="bus_stop"),
        node(5, lon0 + 4 * dlon, lat0 + 1 * dlat, amenity="clinic", healthcare="centre"),
    ]
    path = osm(tmp_path, "\n".join(body + ways))
    roads, _ = read_osm(path, CATALOG.get("roads"))
    facilities, _ = read_osm(path, CATALOG.get("service_facilities"))
    assert len(roads) == 14 + 15  # the motorway, the foot=no path and the private service road are out
    assert not {"way/900", "way/901", "way/902"} & set(roads.osm_id)
    assert sorted(facilities.category) == ["bus_stop", "health_centre", "kindergarten", "kindergarten", "market"]
    assert (facilities.status == "closed").sum() == 1

    # networkx on the same nodes projected independently (the analysis' UTM zone for 121.4E)
    to_utm = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
    xy = {k: to_utm.transform(lon0 + k[0] * dlon, lat0 + k[1] * dlat) for k in grid}
    graph = nx.Graph()
    for i in range(4):
        for j in range(4):
            if not (j == 2 and i in (1, 2)):
                graph.add_edge((i, j), (i + 1, j))
    for i in range(5):
        for j in range(3):
            graph.add_edge((i, j), (i, j + 1))
    for a, b in graph.edges:
        graph.edges[a, b]["weight"] = float(np.hypot(xy[a][0] - xy[b][0], xy[a][1] - xy[b][1]))
    homes = [(0, 0), (1, 2), (2, 2), (3, 1)]
    compounds = frame([shapely.box(xy[h][0] - 2, xy[h][1] - 2, xy[h][0] + 2, xy[h][1] + 2) for h in homes],
                      households=[100] * 4).to_crs("EPSG:4326")
    result = run("life-circle", {"compounds": compounds, "service_facilities": facilities, "roads": roads},
                 {"entry_reach_m": 5})
    w = walks(result)
    where = {"kindergarten": [(4, 3)], "market": [(2, 0)], "bus_stop": [(0, 3)], "health_centre": [(4, 1)]}
    for cat, sources in where.items():
        dist = nx.multi_source_dijkstra_path_length(graph, sources, weight="weight")
        for k, home in enumerate(homes, start=1):
            assert w[(k, cat)].walk_m == pytest.approx(dist[home], abs=0.1), (home, cat)
            assert not w[(k, cat)].estimated


def test_two_facilities_at_one_node_take_the_shorter_leg():
    net = RoadNetwork(np.array(RIVER_ROADS, dtype=object))
    node, _ = net.snap(np.array([pt(600, 0)], dtype=object))
    dist = net.from_sources(np.r_[node, node], np.array([40.0, 10.0]), 5000)
    assert dist[node[0]] == pytest.approx(10.0)  # the legs are alternatives, not added up
