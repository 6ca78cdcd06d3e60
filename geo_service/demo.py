"""Deterministic demo data: one plausible Shanghai district, or with ``scale`` a whole city.

Why it exists: the web map, the analyses, the reports and the benchmarks need data that
behaves like the real thing (old 售后公房 compounds short of parking, waterlogging clustered in
low-lying old areas, hydrant coverage gaps, offices with free spaces at night for 错时共享停车)
and that anyone can regenerate bit for bit (same ``seed`` and ``scale``, same frames).

How it is laid out: everything is drawn in metres (UTM 51N) and converted to lon/lat once at
the end. The land is a square spiral of *street tiles*; each tile is one 街道/镇, bordered by
arterial roads and cut by local and secondary roads into blocks. A block is either residential
(1-3 compounds, or one large compound spanning two blocks) or something else (offices,
industry, schools, parks, ...). Compounds therefore never overlap: 15-20 m road gaps separate
them. Each tile has an old core (老镇区): compounds near it are older, denser and poorer in
parking. ``scale`` multiplies the number of tiles (about four per unit), so densities stay the
same when the city grows; the first four tiles sit around 梅陇/古美, 闵行区 (~121.40E 31.12N).

Every draw comes from one ``numpy`` Generator, and every step is vectorised over all tiles,
so ``scale=30`` (a city of 120 streets: ~10,400 compounds, ~210,000 hydrants, ~52,000 parking
facilities) builds in about a second.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

DEFAULT_SEED = 20240601
METRIC_CRS = "EPSG:32651"  # UTM 51N covers Shanghai (120-126E): metres for layout, areas and distances
ORIGIN_LONLAT = (121.40, 31.12)  # between 梅陇镇, 古美路街道 and 莘庄镇, 闵行区
LAYER_IDS = ("compounds", "waterlogging_points", "parking_facilities", "ebike_charging_sites", "fire_hydrants")

# ---- layout (metres) -------------------------------------------------------------------------
STREETS_PER_SCALE = 4  # street tiles per unit of scale: scale 1 = four 街道/镇 of one district
BLOCKS_PER_SIDE = 15  # blocks per side of a street tile (225 blocks, ~13 km², ~85 compounds)
MEAN_BLOCK_M = 215.0  # mean block side; blocks vary 0.6-1.4x around it
LOCAL_ROAD_M = (15.0, 20.0)  # 支路: the gap between neighbouring compounds
SECONDARY_ROAD_M = (26.0, 32.0)  # 次干路
SECONDARY_SHARE = 0.22
ARTERIAL_M = 44.0  # 主干路 on every tile border
MIN_COMPOUND_M2 = 6_500.0  # smallest piece a block is cut into (the layer allows 0.5 ha)
MAX_COMPOUND_M2 = 145_000.0  # largest two-block compound (the layer allows 15 ha)
HYDRANT_SPACING_M = (80.0, 125.0)  # GB 50974-2014 §7.2.5 asks <= 120 m; real streets vary

# ---- names -------------------------------------------------------------------------------------
# 街道/镇 per district, in the order the spiral of tiles fills them (闵行 first: the demo district).
DISTRICTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("闵行区", ("梅陇镇", "莘庄镇", "七宝镇", "古美路街道", "江川路街道", "颛桥镇", "虹桥镇", "新虹街道",
              "华漕镇", "浦锦街道", "吴泾镇", "马桥镇", "浦江镇")),
    ("徐汇区", ("田林街道", "康健新村街道", "虹梅路街道", "长桥街道", "凌云路街道", "漕河泾街道", "龙华街道",
              "枫林路街道", "斜土路街道", "徐家汇街道", "天平路街道", "湖南路街道", "华泾镇")),
    ("长宁区", ("仙霞新村街道", "虹桥街道", "天山路街道", "北新泾街道", "新泾镇", "程家桥街道", "周家桥街道",
              "新华路街道", "江苏路街道", "华阳路街道")),
    ("普陀区", ("长风新村街道", "曹杨新村街道", "真如镇街道", "长征镇", "桃浦镇", "万里街道", "甘泉路街道",
              "石泉路街道", "宜川路街道", "长寿路街道")),
    ("静安区", ("彭浦新村街道", "临汾路街道", "大宁路街道", "共和新路街道", "芷江西路街道", "彭浦镇",
              "宝山路街道", "北站街道", "天目西路街道", "曹家渡街道", "江宁路街道", "静安寺街道",
              "南京西路街道", "石门二路街道")),
    ("黄浦区", ("打浦桥街道", "五里桥街道", "半淞园路街道", "老西门街道", "豫园街道", "小东门街道",
              "淮海中路街道", "瑞金二路街道", "外滩街道", "南京东路街道")),
    ("虹口区", ("凉城新村街道", "曲阳路街道", "广中路街道", "欧阳路街道", "江湾镇街道", "嘉兴路街道",
              "四川北路街道", "北外滩街道")),
    ("杨浦区", ("控江路街道", "长白新村街道", "延吉新村街道", "殷行街道", "五角场街道", "新江湾城街道",
              "四平路街道", "江浦路街道", "平凉路街道", "定海路街道", "大桥街道", "五角场镇")),
    ("浦东新区", ("潍坊新村街道", "上钢新村街道", "周家渡街道", "塘桥街道", "南码头路街道", "洋泾街道",
                "金杨新村街道", "沪东新村街道", "浦兴路街道", "东明路街道", "花木街道", "陆家嘴街道",
                "三林镇", "北蔡镇", "张江镇", "金桥镇", "高桥镇", "川沙新镇")),
    ("宝山区", ("张庙街道", "友谊路街道", "吴淞街道", "大场镇", "庙行镇", "淞南镇", "高境镇", "杨行镇",
              "顾村镇", "月浦镇", "罗店镇")),
    ("嘉定区", ("真新街道", "新成路街道", "嘉定镇街道", "江桥镇", "南翔镇", "马陆镇", "安亭镇")),
    ("松江区", ("方松街道", "岳阳街道", "永丰街道", "中山街道", "广富林街道", "九里亭街道", "九亭镇",
              "泗泾镇", "洞泾镇")),
    ("青浦区", ("夏阳街道", "盈浦街道", "香花桥街道", "徐泾镇", "赵巷镇", "华新镇")),
)
# Place-name stems for compounds, lots and roads (a mix of real Shanghai 地名 flavours).
STEMS = (
    "春申", "莲花", "虹梅", "平阳", "龙茗", "万源", "东兰", "顾戴", "罗阳", "景谷", "华梅", "朱行", "曹行",
    "许泾", "陇西", "银都", "航华", "田园", "绿梅", "欣梅", "百色", "上澳", "紫藤", "香樟", "海棠", "枫丹",
    "明珠", "锦绣", "星河", "阳光", "康城", "金都", "春江", "水清", "畹町", "鹤庆", "碧江", "永德", "报春",
    "沁春", "红梅", "华坪", "凯城", "馨康", "长桥", "龙华", "漕溪", "华泾", "凌云", "东安", "宛平", "天钥",
    "康健", "桂林", "钦州", "北新", "仙霞", "天山", "古北", "长风", "真光", "管弄", "梅岭", "兰溪", "甘泉",
    "宜川", "曲阳", "凉城", "广灵", "控江", "鞍山", "延吉", "殷行", "政立", "国和", "三门", "共康", "泗塘",
    "通河", "呼玛", "乐嘉", "金杨", "德州", "上南", "杨思", "东明", "临沂", "南码", "塘桥", "潍坊", "崂山",
    "源深", "竹园", "泾南", "松浦", "华夏", "芳华", "锦华", "新松", "方松", "九亭", "佘山", "盈浦", "夏阳",
    "徐泾", "南翔", "安亭", "江桥", "丰庄", "祁连", "顾村", "大场", "庙行", "淞南", "高境", "月浦", "罗店",
    "吴淞", "友谊", "樱花", "玉兰", "双峰", "秀枫", "青松", "翠竹", "荷花", "丽景", "新梅", "怡景", "嘉和",
)
CN_NUMBERS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")
OLD_SUFFIXES = ("小区", "新村", "公寓", "新苑")  # pre-2000 compounds outside a numbered 村 series
NEW_SUFFIXES = ("花园", "苑", "公寓", "家园", "名邸", "华庭", "雅苑", "佳苑", "景苑", "新城", "府", "湾")
RESETTLEMENT_SUFFIXES = ("新苑", "家园", "小区", "馨苑", "新村")
DEMO_COMPOUND = ("梅陇镇", "梅陇三村")  # the report tests look this compound up by name



class _LotKind(NamedTuple):
    capacity: tuple[int, int]  # log-uniform range (compound lots split the compound's spaces instead)
    night_free: tuple[float, float]  # share of spaces free at night: who can offer 错时共享停车
    shareable: float  # chance the lot already shares off-peak
    hours: tuple[str, ...]
    fees: tuple[str, ...]


PARKING_KINDS = {
    "compound": _LotKind((1, 1), (0.0, 0.04), 0.05, ("00:00-24:00",),
                         ("业主包月150元/月", "业主包月200元/月", "业主包月300元/月", "临停5元/小时")),
    "public": _LotKind((40, 400), (0.1, 0.45), 0.8, ("00:00-24:00", "07:00-22:00"),
                       ("5元/小时", "首小时10元，之后5元/小时", "夜间包月300元/月")),
    "office": _LotKind((30, 300), (0.6, 0.92), 0.6, ("08:00-19:00", "07:30-20:00", "00:00-24:00"),
                       ("10元/小时", "夜间包月400元/月", "内部免费")),
    "commercial": _LotKind((120, 1500), (0.4, 0.8), 0.5, ("09:00-23:00", "10:00-22:00"),
                           ("10元/小时", "消费满200元免2小时")),
    "hospital": _LotKind((80, 600), (0.2, 0.5), 0.2, ("00:00-24:00",), ("10元/小时",)),
    "school": _LotKind((20, 120), (0.7, 0.95), 0.3, ("07:00-18:00",), ("内部免费", "夜间包月200元/月")),
    "street": _LotKind((8, 40), (0.0, 0.25), 0.0, ("07:00-21:00", "07:00-19:00"),
                       ("5元/小时", "首小时10元，之后5元/小时")),
}

LAND_USES = ("industrial", "office", "commercial", "school", "hospital", "green", "public", "vacant")
LAND_USE_P = (0.22, 0.14, 0.11, 0.10, 0.03, 0.15, 0.08, 0.17)


# ================================================================================= public API

def build_demo(scale: float = 1.0, seed: int = DEFAULT_SEED) -> dict[str, gpd.GeoDataFrame]:
    """All demo layers as GeoDataFrames in EPSG:4326, keyed by layer id.

    Each frame has an integer ``id`` (1..N), the fields of its layer spec and a geometry.
    Same ``seed`` and ``scale``: identical frames. ``scale`` multiplies every count.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    rng = np.random.default_rng(seed)
    city = _City(rng, scale)
    frames = {
        "compounds": city.compounds(),
        "waterlogging_points": city.waterlogging(),
        "parking_facilities": city.parking(),
        "ebike_charging_sites": city.ebike(),
        "fire_hydrants": city.hydrants(),
    }
    return {layer: frames[layer] for layer in LAYER_IDS}


def write_demo(store: Any, scale: float = 1.0, seed: int = DEFAULT_SEED, progress: bool = False) -> dict[str, int]:
    """Build the demo and replace each catalog layer of ``store`` with it; returns rows per layer.

    Frames pass the project's import validator when it is installed, so the demo is written
    exactly as a file import would be (and a generator bug shows up as a clear error here).
    Layers the store's catalog does not declare are skipped; fields it does not declare are dropped.
    """
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    say(f"building demo city (scale {scale:g}, seed {seed}) ...")
    frames = build_demo(scale=scale, seed=seed)
    validate = _validator()
    counts: dict[str, int] = {}
    for layer_id, frame in frames.items():
        if layer_id not in store.catalog:
            say(f"{layer_id}: not in the catalog, skipped")
            continue
        spec = store.catalog.get(layer_id)
        keep = ["id"] + [c for c in frame.columns if spec.has_field(c)] + [frame.geometry.name]
        frame = frame[keep]
        if validate is not None:
            result = validate(frame, spec)
            if result.errors:
                shown = "; ".join(str(e) for e in result.errors[:5])
                raise ValueError(f"demo data for {layer_id} fails validation ({len(result.errors)} errors): {shown}")
            frame = _with_ids(result.valid, frame)
        store.import_frame(layer_id, frame, mode="replace")
        counts[layer_id] = len(frame)
        say(f"{layer_id}: {len(frame):,} features written")
    return counts


def _validator():
    """``geo_service.catalog.validation.validate_frame`` if that module exists, else None."""
    try:
        found = importlib.util.find_spec("geo_service.catalog.validation")
    except ModuleNotFoundError:
        found = None
    if found is None:
        return None
    return getattr(importlib.import_module("geo_service.catalog.validation"), "validate_frame", None)


def _with_ids(valid: gpd.GeoDataFrame, original: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep our ids even if the validator moved them to the index or dropped the column."""
    if "id" in valid.columns:
        return valid
    valid = valid.copy()
    valid.insert(0, "id", original["id"].to_numpy() if len(valid) == len(original) else valid.index)
    return valid


# ================================================================================= the city

class _City:
    """The layout (tiles, blocks, roads, compounds) shared by every layer's generator.

    Layers are drawn in a fixed order from one Generator; each method returns a finished frame.
    """

    def __init__(self, rng: np.random.Generator, scale: float):
        self.rng = rng
        self.n_tiles = max(1, round(STREETS_PER_SCALE * scale))
        blocks = BLOCKS_PER_SIDE ** 2 * STREETS_PER_SCALE * scale / self.n_tiles
        self.n = max(4, round(float(np.sqrt(blocks))))  # blocks per tile side
        self.tile_m = self.n * (MEAN_BLOCK_M + 18.0) + ARTERIAL_M
        self.tile_area_share = min(1.0, (self.n / BLOCKS_PER_SIDE) ** 2)  # tiny scales: smaller tiles
        self._to_lonlat = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
        self._place_tiles()
        self._cut_blocks()
        self._zone_blocks()
        self._make_compounds()
        self._describe_compounds()
        self._name_compounds()

    # ---------------------------------------------------------------- layout
    def _place_tiles(self) -> None:
        """Tiles on a square spiral (the first four form a 2x2 district), with names and old cores."""
        pos = _spiral(self.n_tiles)
        ox, oy = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform(*ORIGIN_LONLAT)
        # the centre of the first (up to) four tiles sits on the origin, whatever the scale
        first = pos[:4]
        centre = (first.min(0) + first.max(0) + 1) / 2
        self.tx = ox + (pos[:, 0] - centre[0]) * self.tile_m
        self.ty = oy + (pos[:, 1] - centre[1]) * self.tile_m
        self.district, self.street = _street_names(self.n_tiles)
        rng = self.rng
        self.core_x = self.tx + self.tile_m * rng.uniform(0.3, 0.7, self.n_tiles)
        self.core_y = self.ty + self.tile_m * rng.uniform(0.3, 0.7, self.n_tiles)

    def _cut_blocks(self) -> None:
        """Column widths and row heights per tile; roads between them; blocks as (T, n, n) arrays."""
        rng, T, n = self.rng, self.n_tiles, self.n
        inner = self.tile_m - ARTERIAL_M
        edges = []
        for origin in (self.tx, self.ty):
            secondary = rng.random((T, n - 1)) < SECONDARY_SHARE
            gap = np.where(secondary, rng.uniform(*SECONDARY_ROAD_M, (T, n - 1)),
                           rng.uniform(*LOCAL_ROAD_M, (T, n - 1)))
            width = rng.uniform(0.6, 1.4, (T, n))
            width *= ((inner - gap.sum(1)) / width.sum(1))[:, None]
            step = width + np.pad(gap, ((0, 0), (0, 1)))
            lo = origin[:, None] + ARTERIAL_M / 2 + np.cumsum(step, 1) - step
            edges.append((lo, lo + width, gap, secondary))
        (self.cx0, self.cx1, self.gx, self.secx), (self.cy0, self.cy1, self.gy, self.secy) = edges
        shape = (T, n, n)  # [tile, row, col]
        self.b_tile = np.broadcast_to(np.arange(T)[:, None, None], shape).ravel()
        self.b_row = np.broadcast_to(np.arange(n)[None, :, None], shape).ravel()
        self.b_col = np.broadcast_to(np.arange(n)[None, None, :], shape).ravel()
        self.bx0 = self.cx0[self.b_tile, self.b_col]
        self.bx1 = self.cx1[self.b_tile, self.b_col]
        self.by0 = self.cy0[self.b_tile, self.b_row]
        self.by1 = self.cy1[self.b_tile, self.b_row]

    def _zone_blocks(self) -> None:
        """Residential blocks concentrate around each tile's old core; the rest get other uses."""
        rng = self.rng
        t = self.b_tile
        d = np.hypot((self.bx0 + self.bx1) / 2 - self.core_x[t], (self.by0 + self.by1) / 2 - self.core_y[t])
        p_res = 0.035 + 0.87 * np.exp(-d / 950.0)  # ~55 % near the core, a few % at the edges
        self.b_res = rng.random(len(t)) < p_res
        use = rng.choice(len(LAND_USES), size=len(t), p=LAND_USE_P)
        self.b_use = np.where(self.b_res, -1, use)  # index into LAND_USES, -1: residential

    def _make_compounds(self) -> None:
        """Compound polygons: merge some block pairs, split others, then shape each piece."""
        rng = self.rng
        n = self.n
        x0, x1, y0, y1 = self.bx0.copy(), self.bx1.copy(), self.by0, self.by1
        # one large compound over two neighbouring residential blocks (the local road between is closed)
        east = np.arange(len(x0)) + 1
        can = (self.b_col % 2 == 0) & (self.b_col < n - 1) & self.b_res
        can &= self.b_res[np.minimum(east, len(x0) - 1)]
        can &= ~self.secx[self.b_tile, np.minimum(self.b_col, n - 2)]
        merged_area = (x1[np.minimum(east, len(x0) - 1)] - x0) * (y1 - y0)
        merge = can & (merged_area <= MAX_COMPOUND_M2) & (rng.random(len(x0)) < 0.2)
        x1[merge] = x1[east[merge]]
        consumed = np.zeros(len(x0), bool)
        consumed[east[merge]] = True
        self.closed_road = np.zeros((self.n_tiles, n, n - 1), bool)  # [tile, row, vertical road]
        self.closed_road[self.b_tile[merge], self.b_row[merge], self.b_col[merge]] = True

        src = np.flatnonzero(self.b_res & ~consumed)
        x0, x1, y0, y1 = x0[src], x1[src], y0[src], y1[src]
        horizontal = (x1 - x0) >= (y1 - y0)  # cut across the longer side
        long_lo, long_hi = np.where(horizontal, x0, y0), np.where(horizontal, x1, y1)
        short = np.where(horizontal, y1 - y0, x1 - x0)
        k = rng.choice([1, 2, 3], size=len(src), p=[0.55, 0.33, 0.12])
        k[merge[src]] = 1
        for _ in range(2):  # second pass only undoes cuts that left a piece too small
            piece, lo, hi = _cut(rng, long_lo, long_hi, k, LOCAL_ROAD_M)
            small = np.zeros(len(src), bool)
            small[piece[(hi - lo) * short[piece] < MIN_COMPOUND_M2]] = True
            if not small.any():
                break
            k[small] = 1
        h = horizontal[piece]
        px0 = np.where(h, lo, x0[piece])
        px1 = np.where(h, hi, x1[piece])
        py0 = np.where(h, y0[piece], lo)
        py1 = np.where(h, y1[piece], hi)
        self.c_block = src[piece]
        self.c_tile = self.b_tile[self.c_block]
        self.c_poly = _shape_compounds(rng, px0, px1, py0, py1)
        shapely.prepare(self.c_poly)
        self.c_area = shapely.area(self.c_poly)
        centre = shapely.centroid(self.c_poly)
        self.c_x, self.c_y = shapely.get_x(centre), shapely.get_y(centre)
        self.c_core_d = np.hypot(self.c_x - self.core_x[self.c_tile], self.c_y - self.core_y[self.c_tile])

    # ---------------------------------------------------------------- compound attributes
    def _describe_compounds(self) -> None:
        """Era, housing type, flats, households, parking.

        Older compounds sit nearer the core, are denser (small flats) and have far fewer spaces.
        """
        rng, N = self.rng, len(self.c_poly)
        # build years: ~65 % before 2000; rank by distance to the old core (plus noise) so old ones cluster
        n_old = rng.binomial(N, 0.65)
        years = np.sort(np.concatenate([
            rng.choice(np.arange(1980, 2000), n_old, p=_norm(1 + 0.05 * np.arange(20))),
            rng.choice(np.arange(2000, 2021), N - n_old, p=_norm(1.3 - 0.04 * np.arange(21))),
        ]))
        score = self.c_core_d / 1000.0 + rng.normal(0, 0.5, N)
        year = np.empty(N, int)
        year[np.argsort(score, kind="stable")] = years
        old = year < 2000

        htype = np.where(
            old,
            rng.choice(["public_sold", "resettlement", "commodity", "old_lane", "other"], N,
                       p=[0.69, 0.13, 0.08, 0.07, 0.03]),
            rng.choice(["commodity", "resettlement", "affordable", "other"], N, p=[0.68, 0.18, 0.11, 0.03]),
        ).astype(object)
        htype[(htype == "old_lane") & (year > 1986)] = "public_sold"  # lanes only among the oldest
        # 1990s 商品房 were smaller and lower than today's: commodity housing splits by era
        cls = np.where(htype == "commodity", np.where(old, "old_commodity", "new_commodity"), htype)

        def by_type(default, **ranges):
            """One uniform draw per compound from the (low, high) range of its class, else ``default``."""
            out = rng.uniform(*default, N)
            for key, (a, b) in ranges.items():
                mask = cls == key
                out[mask] = rng.uniform(a, b, mask.sum())
            return out

        flat = by_type((55, 110), public_sold=(46, 66), old_lane=(28, 42), resettlement=(62, 88),
                       old_commodity=(75, 100), new_commodity=(95, 140), affordable=(60, 80))
        flat += np.where(cls == "public_sold", (year - 1980) * 0.4, 0)  # later 公房 a little larger
        far = by_type((1.4, 2.0), public_sold=(1.3, 1.7), old_lane=(1.0, 1.3), resettlement=(1.8, 2.4),
                      old_commodity=(1.4, 1.9), new_commodity=(1.8, 2.6), affordable=(2.2, 2.6))
        per_building = by_type((5000, 9000), public_sold=(2800, 4200), old_lane=(700, 1400),
                               resettlement=(6000, 12000), old_commodity=(4000, 8000),
                               new_commodity=(8000, 16000), affordable=(10000, 14000))
        parking_ratio = by_type((0.3, 0.6), public_sold=(0.1, 0.3), old_lane=(0.0, 0.08),
                                resettlement=(0.3, 0.6), old_commodity=(0.3, 0.6),
                                new_commodity=(0.6, 1.2), affordable=(0.3, 0.5))
        cars = np.where(old, rng.uniform(0.35, 0.6, N), rng.uniform(0.6, 1.0, N))

        floor_area = self.c_area * far * 0.88  # residential share of the floor area
        households = np.maximum(20, np.round(floor_area / flat)).astype(int)
        status = np.where(
            old,
            rng.choice(["not_planned", "planned", "in_progress", "completed"], N, p=[0.40, 0.32, 0.13, 0.15]),
            rng.choice(["not_planned", "planned"], N, p=[0.93, 0.07]),
        ).astype(object)
        tier = rng.choice(["demonstration", "upgrade", "basic"], N, p=[0.15, 0.40, 0.45]).astype(object)
        tier[~np.isin(status, ["in_progress", "completed"])] = None  # set once a compound is in a programme

        self.c_year, self.c_old, self.c_type, self.c_status = year, old, htype, status
        self.c_households = households
        self.c_attrs = {
            "district": self.district[self.c_tile],
            "street": self.street[self.c_tile],
            "build_year": year,
            "households": households,
            "buildings": np.maximum(1, np.round(floor_area / per_building)).astype(int),
            "housing_type": htype,
            "avg_flat_m2": np.round(flat, 1),
            "parking_spaces": np.round(households * parking_ratio).astype(int),
            "registered_vehicles": np.round(households * cars).astype(int),
            "renovation_tier": tier,
            "renovation_status": status,
        }

    def _name_compounds(self) -> None:
        """Chinese names unique within a street: numbered 村 series for old 公房, 花园/苑/... for newer ones.

        A light loop over compounds (names are per-feature strings by nature).
        """
        rng, N = self.rng, len(self.c_poly)
        names = np.empty(N, dtype=object)
        series = self.c_old & np.isin(self.c_type, ["public_sold", "resettlement", "other"])
        series &= (rng.random(N) < 0.75) | (self.c_core_d < 600)  # some old ones have a name of their own
        # per street: 村 series first, walking out from the core sector by sector, so 一村, 二村, 三村 are neighbours
        angle = np.arctan2(self.c_y - self.core_y[self.c_tile], self.c_x - self.core_x[self.c_tile])
        sector = np.floor((angle + np.pi) / (np.pi / 3)).astype(int)
        order = np.lexsort((self.c_core_d, sector, ~series, self.c_tile))
        bounds = np.flatnonzero(np.diff(self.c_tile[order])) + 1
        series_sizes = rng.integers(2, 8, N)
        picks = rng.integers(0, 1 << 30, (N, 2))
        for group in np.split(order, bounds):
            if not len(group):
                continue
            t = self.c_tile[group[0]]
            street = self.street[t]
            stems = [_stem(street)] + [STEMS[i] for i in rng.permutation(len(STEMS))]
            used: set[str] = set()
            stem_i, in_series, size = 0, 0, max(3, series_sizes[group[0]])
            free = 1  # next stem not reserved for a 村 series
            for i in group:
                kind = self.c_type[i]
                a, b = picks[i]
                if series[i]:
                    if in_series >= min(size, len(CN_NUMBERS)):
                        stem_i, in_series, size = free % len(stems), 0, series_sizes[i]
                        free += 1
                    name = f"{stems[stem_i]}{CN_NUMBERS[in_series]}村"
                    in_series += 1
                    if name in used:
                        name = None
                else:
                    name = None
                if name is None:
                    suffixes = (("里", "坊") if kind == "old_lane" else OLD_SUFFIXES if self.c_old[i]
                                else RESETTLEMENT_SUFFIXES if kind in ("resettlement", "affordable")
                                else NEW_SUFFIXES)
                    for j in range(len(stems) * len(suffixes)):
                        name = f"{stems[1 + (a + j) % (len(stems) - 1)]}{suffixes[(b + j) % len(suffixes)]}"
                        if name not in used:
                            break
                used.add(name)
                names[i] = name
        # The reports need 梅陇三村; tiny scales may not have made it, so rename the oldest 梅陇镇 compound.
        street_of = self.street[self.c_tile]
        in_street = np.flatnonzero(street_of == DEMO_COMPOUND[0])
        if len(in_street) and not (names[in_street] == DEMO_COMPOUND[1]).any():
            names[in_street[np.argmin(self.c_year[in_street])]] = DEMO_COMPOUND[1]
        self.c_name = names

    # ---------------------------------------------------------------- layers
    def compounds(self) -> gpd.GeoDataFrame:
        geoms = shapely.orient_polygons(self._lonlat(self.c_poly))  # RFC 7946: exteriors counter-clockwise
        return _frame({"name": self.c_name, **self.c_attrs}, geoms)

    def hydrants(self) -> gpd.GeoDataFrame:
        """Hydrants along every road at 80-125 m (both kerbs of wide roads), on the fire roads just
        inside most non-residential sites (factories, offices, schools, hospitals: GB 50974 asks for
        outdoor hydrants there too), and some inside large compounds.

        A couple of sparse patches per street leave real coverage gaps for the 150 m analysis.
        """
        rng = self.rng
        seg = self._road_segments()
        rx, ry = _along(rng, seg, HYDRANT_SPACING_M)
        # sites: a ring 8-20 m inside the block edge
        has_ring = np.array([0.9, 0.8, 0.9, 0.7, 1.0, 0.2, 0.6, 0.0])  # in LAND_USES order
        b = np.flatnonzero(self.b_use >= 0)
        b = b[rng.random(len(b)) < has_ring[self.b_use[b]]]
        d = rng.uniform(8, 20, len(b))
        x0, x1, y0, y1 = self.bx0[b] + d, self.bx1[b] - d, self.by0[b] + d, self.by1[b] - d
        ring = {"xa": np.concatenate([x0, x1, x1, x0]), "ya": np.concatenate([y0, y0, y1, y1]),
                "xb": np.concatenate([x1, x1, x0, x0]), "yb": np.concatenate([y0, y1, y1, y0])}
        sx, sy = _along(rng, ring, HYDRANT_SPACING_M)
        x, y = np.concatenate([rx, sx]), np.concatenate([ry, sy])
        tile = np.concatenate([np.repeat(seg["tile"], seg["count"]),
                               np.repeat(np.tile(self.b_tile[b], 4), ring["count"])])
        # sparse patches: most hydrants inside them are missing
        n_patch = 2
        px = self.tx[:, None] + self.tile_m * rng.uniform(0.1, 0.9, (self.n_tiles, n_patch))
        py = self.ty[:, None] + self.tile_m * rng.uniform(0.1, 0.9, (self.n_tiles, n_patch))
        radius = rng.uniform(300, 600, (self.n_tiles, n_patch)) * np.sqrt(self.tile_area_share)
        inside = (np.hypot(x[:, None] - px[tile], y[:, None] - py[tile]) < radius[tile]).any(1)
        keep = ~inside | (rng.random(len(x)) < 0.1)
        x, y = x[keep], y[keep]
        n_road = len(x)
        # inside compounds of >= 3 ha: about one per 2.5 ha, on the internal fire roads
        per = np.where(self.c_area >= 30_000, np.floor(self.c_area / 25_000), 0).astype(int)
        owner = np.repeat(np.arange(len(per)), per)
        ix, iy = _points_in(rng, self.c_poly, owner, inset=12.0)
        x, y = np.concatenate([x, ix]), np.concatenate([y, iy])
        n = len(x)
        in_compound = np.arange(n) >= n_road

        status = rng.choice(["working", "faulty", "under_repair", "out_of_service", "unknown"], n,
                            p=[0.85, 0.07, 0.04, 0.03, 0.01]).astype(object)
        kind = np.where(in_compound,
                        rng.choice(["above_ground", "underground", "wall"], n, p=[0.55, 0.25, 0.20]),
                        rng.choice(["above_ground", "underground"], n, p=[0.78, 0.22])).astype(object)
        working = status == "working"
        span = (np.datetime64("2025-06-30") - np.datetime64("2019-01-01")).astype(int)
        ago = np.where(working, rng.exponential(280, n), rng.uniform(0, span, n))  # working ones checked lately
        inspected = np.datetime64("2025-06-30") - np.minimum(ago, span).astype(np.int64).astype("timedelta64[D]")
        flow = np.where(working, np.clip(rng.normal(12.5, 1.8, n), 8, 20), rng.uniform(0, 6, n))
        flow[status == "out_of_service"] = 0.0
        flow[status == "unknown"] = np.nan
        return _frame({
            "kind": kind,
            "status": status,
            "last_inspected": np.datetime_as_string(inspected, unit="D").astype(object),
            "flow_lps": np.round(flow, 1),
        }, self._lonlat_points(x, y))

    def parking(self) -> gpd.GeoDataFrame:
        """Compound car parks inside compounds, and public/office/commercial/... lots between them.

        Night free spaces decide who can share (错时共享): offices and malls empty at night,
        compounds full.
        """
        rng = self.rng
        # -- compound car parks: 1-5 per compound, splitting its spaces
        spaces = self.c_attrs["parking_spaces"]
        n_lots = np.where(spaces > 0, np.minimum(5, 1 + rng.poisson(self.c_area / 30_000)), 0)
        owner = np.repeat(np.arange(len(n_lots)), n_lots)
        cx, cy = _points_in(rng, self.c_poly, owner, inset=8.0)
        share = rng.uniform(0.5, 1.5, len(owner))
        share /= np.bincount(owner, share, len(n_lots))[owner]
        cap_c = np.floor(share * spaces[owner]).astype(int)
        first = np.cumsum(n_lots)[n_lots > 0] - n_lots[n_lots > 0]  # first lot of each compound
        cap_c[first] += spaces[n_lots > 0] - np.bincount(owner, cap_c, len(n_lots))[n_lots > 0].astype(int)
        k_in = np.arange(len(owner)) - np.repeat(np.cumsum(n_lots) - n_lots, n_lots)
        cname = self.c_name[owner]
        garage = (~self.c_old[owner]) & (k_in == 0)
        name_c = np.where(garage, cname + "地下车库",
                          np.where(n_lots[owner] > 1, cname + (k_in + 1).astype(str) + "号停车场", cname + "停车场"))
        # -- lots in non-residential blocks
        rate = np.array([1.6, 2.5, 2.8, 0.7, 2.0, 0.9, 2.3, 0.7])  # per block, in LAND_USES order
        kind_of_use = np.array(["office", "office", "commercial", "school", "hospital", "public", "public",
                                "public"], dtype=object)
        blocks = np.flatnonzero(self.b_use >= 0)
        per = rng.poisson(rate[self.b_use[blocks]])
        b = np.repeat(blocks, per)
        inset = 15.0
        ox = rng.uniform(self.bx0[b] + inset, self.bx1[b] - inset)
        oy = rng.uniform(self.by0[b] + inset, self.by1[b] - inset)
        use = self.b_use[b]
        kind_o = kind_of_use[use]
        suffix = {"industrial": ["工业园停车场", "产业园停车场"],
                  "office": ["大厦停车场", "科技园停车场", "办公楼停车场"],
                  "commercial": ["广场停车库", "购物中心停车场", "商业中心停车库"],
                  "school": ["中学停车场", "小学停车场"],
                  "hospital": ["医院停车场", "社区卫生服务中心停车场"],
                  "green": ["公园停车场"],
                  "public": ["公共停车场", "P+R停车场"],
                  "vacant": ["临时停车场", "公共停车场"]}
        name_o = _stems(rng, len(b)) + _pick(rng, [suffix[u] for u in LAND_USES], use)
        # -- a few on-street parking stretches beside the kerb of local roads
        seg = self._road_segments(internal_only=True)
        on = np.flatnonzero(~seg["wide"] & (rng.random(len(seg["tile"])) < 0.08))
        t = rng.uniform(0.3, 0.7, len(on))
        sx = seg["xa"][on] + t * (seg["xb"][on] - seg["xa"][on])
        sy = seg["ya"][on] + t * (seg["yb"][on] - seg["ya"][on])
        name_s = _stems(rng, len(on)) + "路道路停车"

        x = np.concatenate([cx, ox, sx])
        y = np.concatenate([cy, oy, sy])
        kind = np.concatenate([np.full(len(owner), "compound", object), kind_o, np.full(len(on), "street", object)])
        name = np.concatenate([name_c, name_o, name_s]).astype(object)
        n = len(x)
        capacity = np.zeros(n, int)
        free_share, u = rng.random(n), rng.random(n)
        shareable = np.zeros(n, bool)
        open_hours, fee = np.empty(n, object), np.empty(n, object)
        for k, spec in PARKING_KINDS.items():
            m = kind == k
            a, b_ = spec.capacity
            capacity[m] = np.round(np.exp(rng.uniform(np.log(a), np.log(b_), m.sum()))).astype(int)
            lo, hi = spec.night_free
            free_share[m] = lo + (hi - lo) * free_share[m]
            shareable[m] = u[m] < spec.shareable
            open_hours[m] = _pick(rng, [spec.hours], np.zeros(m.sum(), int))
            fee[m] = _pick(rng, [spec.fees], np.zeros(m.sum(), int))
        capacity[: len(owner)] = cap_c
        return _frame({
            "name": name,
            "kind": kind,
            "capacity": capacity,
            "night_free_spaces": np.floor(capacity * free_share).astype(int),
            "open_hours": open_hours,
            "fee": fee,
            "shareable": shareable,
        }, self._lonlat_points(x, y))

    def ebike(self) -> gpd.GeoDataFrame:
        """Centralised e-bike charging in ~40 % of compounds: newer and renovated ones first."""
        rng = self.rng
        renovated = np.isin(self.c_status, ["in_progress", "completed"])
        p = np.where(self.c_old, np.where(renovated, 0.6, 0.18), 0.55)
        has = rng.random(len(p)) < p
        sites = np.where(has, 1 + (self.c_households > 800) + (self.c_households > 1600), 0)
        owner = np.repeat(np.arange(len(sites)), sites)
        x, y = _points_in(rng, self.c_poly, owner, inset=10.0)
        n = len(owner)
        k = np.arange(n) - np.repeat(np.cumsum(sites) - sites, sites)
        ports = np.clip(np.round(self.c_households[owner] / sites[owner] / rng.uniform(15, 40, n)), 2, 40)
        sprinkler = rng.random(n) < np.where(renovated[owner], 0.75, 0.28)  # guide item 12 comes with renovation
        name = self.c_name[owner] + "电动自行车充电点" + np.where(sites[owner] > 1, (k + 1).astype(str) + "号", "")
        return _frame({
            "name": name.astype(object),
            "ports": ports.astype(int),
            "covered": rng.random(n) < 0.8,
            "has_sprinkler": sprinkler,
            "status": rng.choice(["working", "faulty", "planned", "removed"], n, p=[0.82, 0.08, 0.08, 0.02]),
        }, self._lonlat_points(x, y))

    def waterlogging(self) -> gpd.GeoDataFrame:
        """Gaussian clusters around a couple of the oldest (low-lying) compounds per street, plus a few strays."""
        rng, T = self.rng, self.n_tiles
        # pick cluster centres among pre-1995 compounds, the older the likelier (weighted sampling by keys)
        weight = np.where(self.c_year < 1995, 1.0 + (1995 - self.c_year), 0.0)
        with np.errstate(divide="ignore"):
            key = np.log(rng.random(len(weight))) / weight  # -inf where weight is 0
        order = np.lexsort((-key, self.c_tile))
        rank = np.arange(len(order)) - np.searchsorted(self.c_tile[order], self.c_tile[order])
        n_clusters = np.maximum(1, np.round((2 + (rng.random(T) < 0.3)) * self.tile_area_share)).astype(int)
        chosen = order[(rank < n_clusters[self.c_tile[order]]) & (weight[order] > 0)]
        size = 5 + rng.poisson(5, len(chosen))
        centre = np.repeat(chosen, size)
        sigma = np.repeat(rng.uniform(120, 260, len(chosen)), size)
        x = self.c_x[centre] + rng.normal(0, 1, len(centre)) * sigma
        y = self.c_y[centre] + rng.normal(0, 1, len(centre)) * sigma
        stray = rng.poisson(3 * self.tile_area_share, T)  # and a few strays anywhere
        st = np.repeat(np.arange(T), stray)
        x = np.concatenate([x, self.tx[st] + self.tile_m * rng.random(len(st))])
        y = np.concatenate([y, self.ty[st] + self.tile_m * rng.random(len(st))])
        n, clustered = len(x), np.arange(len(x)) < len(centre)

        tree = shapely.STRtree(self.c_poly)
        points = shapely.points(x, y)
        nearest = tree.query_nearest(points, return_distance=False, all_matches=False)[1]
        inside = shapely.contains_xy(self.c_poly[nearest], x, y)
        depth = np.exp(rng.normal(np.where(clustered, np.log(25), np.log(15)), 0.45))
        depth = np.clip(depth, 5, 120)
        duration = np.clip(20 + depth * rng.uniform(2, 6, n), 15, 1440)
        cause = np.where(inside,
                         rng.choice(["internal_drainage", "external_backflow", "other"], n, p=[0.7, 0.2, 0.1]),
                         rng.choice(["external_backflow", "internal_drainage", "other"], n, p=[0.55, 0.3, 0.15]))
        name = self.c_name[nearest] + np.where(inside, "小区内道路", "周边道路")
        return _frame({
            "name": name.astype(object),
            "depth_cm": np.round(depth, 0),
            "duration_min": np.round(duration, 0),
            "events_per_year": np.minimum(365, 1 + rng.poisson(np.where(clustered, 3.0, 1.0))),
            "cause": cause.astype(object),
            "status": rng.choice(["open", "in_progress", "fixed"], n, p=[0.5, 0.2, 0.3]).astype(object),
        }, self._lonlat_points(x, y))

    # ---------------------------------------------------------------- roads and helpers
    def _road_segments(self, internal_only: bool = False) -> dict[str, np.ndarray]:
        """Kerb lines of road segments between intersections: where hydrants and street parking go.

        Local roads get one kerb (random side), secondary roads both; each arterial gets the kerb
        on each tile's side, so shared arterials end up with both. Closed roads (merged blocks) are skipped.
        """
        rng, T, n = self.rng, self.n_tiles, self.n
        parts = []
        # vertical roads between columns j and j+1, one segment per row: [tile, row, j]
        t, r, j = (a.ravel() for a in np.meshgrid(np.arange(T), np.arange(n), np.arange(n - 1), indexing="ij"))
        open_ = ~self.closed_road[t, r, j]
        t, r, j = t[open_], r[open_], j[open_]
        xc = (self.cx1[t, j] + self.cx0[t, j + 1]) / 2
        parts.append(("v", t, xc, self.cy0[t, r], self.cy1[t, r], self.gx[t, j], self.secx[t, j]))
        # horizontal roads between rows i and i+1, one segment per column
        t, i, c = (a.ravel() for a in np.meshgrid(np.arange(T), np.arange(n - 1), np.arange(n), indexing="ij"))
        yc = (self.cy1[t, i] + self.cy0[t, i + 1]) / 2
        parts.append(("h", t, yc, self.cx0[t, c], self.cx1[t, c], self.gy[t, i], self.secy[t, i]))
        out: dict[str, list[np.ndarray]] = {k: [] for k in ("tile", "xa", "ya", "xb", "yb", "wide")}

        def add(axis, tile, centre, a, b, width, wide, side):
            # on the footway, 1.5-3.5 m from the property line: about 0.5-2 m from the kerb (GB 50974 §7.2.6)
            off = centre + side * (width / 2 - rng.uniform(1.5, 3.5, len(tile)))
            xa, ya, xb, yb = (off, a, off, b) if axis == "v" else (a, off, b, off)
            for key, val in zip(("tile", "xa", "ya", "xb", "yb", "wide"), (tile, xa, ya, xb, yb, wide), strict=True):
                out[key].append(np.asarray(val))

        for axis, tile, centre, a, b, width, wide in parts:
            side = np.where(rng.random(len(tile)) < 0.5, -1.0, 1.0)
            add(axis, tile, centre, a, b, width, wide, side)
            w = np.flatnonzero(wide)
            add(axis, tile[w], centre[w], a[w], b[w], width[w], wide[w], -side[w])
        if not internal_only:
            tt = np.arange(T)
            lo_x, lo_y = self.tx + ARTERIAL_M / 2, self.ty + ARTERIAL_M / 2
            hi_x, hi_y = self.tx + self.tile_m - ARTERIAL_M / 2, self.ty + self.tile_m - ARTERIAL_M / 2
            ones, inward = np.ones(T, bool), np.full(T, ARTERIAL_M)
            # the kerb on this tile's side of each border arterial (centre = the border line)
            add("v", tt, self.tx, lo_y, hi_y, inward, ones, 1.0)
            add("v", tt, self.tx + self.tile_m, lo_y, hi_y, inward, ones, -1.0)
            add("h", tt, self.ty, lo_x, hi_x, inward, ones, 1.0)
            add("h", tt, self.ty + self.tile_m, lo_x, hi_x, inward, ones, -1.0)
        return {k: np.concatenate(v) for k, v in out.items()}

    def _lonlat(self, geoms: np.ndarray) -> np.ndarray:
        return shapely.transform(geoms, self._transform_xy)

    def _lonlat_points(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        lon, lat = self._to_lonlat.transform(x, y)
        return shapely.points(np.round(lon, 7), np.round(lat, 7))

    def _transform_xy(self, xy: np.ndarray) -> np.ndarray:
        lon, lat = self._to_lonlat.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), 7)  # 1 cm: smaller GeoJSON, no visible change


# ================================================================================= helpers

def _spiral(n: int) -> np.ndarray:
    """Integer cells of a square spiral from (0, 0): west, north, east, east, south, south, ...

    The first four form a 2x2 square: 梅陇 (SE), 莘庄 (SW), 七宝 (NW), 古美 (NE), roughly as on the ground.
    """
    out = [(0, 0)]
    x = y = 0
    step, d = 1, 0
    moves = ((-1, 0), (0, 1), (1, 0), (0, -1))
    while len(out) < n:
        for _ in range(2):
            dx, dy = moves[d % 4]
            for _ in range(step):
                x, y = x + dx, y + dy
                out.append((x, y))
            d += 1
        step += 1
    return np.array(out[:n], dtype=float)


def _street_names(n: int) -> tuple[np.ndarray, np.ndarray]:
    """District and 街道/镇 of each tile; beyond the listed ones, new towns named from the stems."""
    district, street = [], []
    for d, streets in DISTRICTS:
        district += [d] * len(streets)
        street += list(streets)
    k = 0
    while len(street) < n:  # scale > ~35: invent towns, ten to a 新区
        district.append(f"{STEMS[(k // 10) % len(STEMS)]}新区")
        street.append(f"{STEMS[(k * 7 + 3) % len(STEMS)]}{'镇' if k % 2 else '街道'}")
        k += 1
    return np.array(district[:n], dtype=object), np.array(street[:n], dtype=object)


def _stem(street: str) -> str:
    """梅陇镇 -> 梅陇, 古美路街道 -> 古美, 曹杨新村街道 -> 曹杨: the street's own place name."""
    for suffix in ("街道", "新镇", "镇", "新村", "路"):
        if street.endswith(suffix) and len(street) - len(suffix) >= 2:
            street = street[: -len(suffix)]
    return street


def _norm(w: np.ndarray) -> np.ndarray:
    return w / w.sum()


def _stems(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.array(STEMS, dtype=object)[rng.integers(0, len(STEMS), n)]


def _pick(rng: np.random.Generator, options: list[list[str]], group: np.ndarray) -> np.ndarray:
    """For each row, one random string from ``options[group[row]]``."""
    out = np.empty(len(group), dtype=object)
    u = rng.random(len(group))
    for g, opts in enumerate(options):
        m = group == g
        out[m] = np.array(opts, dtype=object)[(u[m] * len(opts)).astype(int)]
    return out


def _cut(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, k: np.ndarray,
         gap_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut each interval [lo, hi] into k[i] pieces of random length separated by road gaps.

    Returns (interval index of each piece, piece lo, piece hi), pieces grouped per interval in order.
    """
    piece = np.repeat(np.arange(len(k)), k)
    gap = rng.uniform(*gap_range, len(k))
    usable = (hi - lo) - (k - 1) * gap
    w = rng.uniform(0.7, 1.3, len(piece))
    length = w / np.bincount(piece, w, len(k))[piece] * usable[piece]
    step = length + gap[piece]
    before = np.cumsum(step) - step  # exclusive running sum over all pieces
    start = np.cumsum(k) - k
    plo = lo[piece] + before - before[start][piece]
    return piece, plo, plo + length


def _shape_compounds(rng: np.random.Generator, x0, x1, y0, y1) -> np.ndarray:
    """A polygon inside each rectangle: the rectangle, a quad with corners pulled in, a rotated
    rectangle that still fits, or an L-shape (a corner notch). Big pieces get the varied shapes,
    so no shape falls under the 0.5 ha floor. All shapes stay inside their rectangle: no overlaps.
    """
    n = len(x0)
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    area = 4 * hw * hh
    shape = rng.choice(4, n, p=[0.35, 0.2, 0.2, 0.25])  # 0 rect, 1 quad, 2 rotated, 3 L
    # worst cases: a quad keeps 58 % of its rectangle, a rotated one (aspect <= 2) 55 %, an L 80 %
    aspect = np.maximum(hw, hh) / np.minimum(hw, hh)
    shape[(shape == 2) & ((area < 12_000) | (aspect > 2))] = 0
    shape[(shape == 3) & (area < 12_000)] = 0
    shape[(shape == 1) & (area < 9_500)] = 0
    sx = np.array([-1.0, 1.0, 1.0, -1.0])  # counter-clockwise unit corners
    sy = np.array([-1.0, -1.0, 1.0, 1.0])
    qx = cx[:, None] + hw[:, None] * sx
    qy = cy[:, None] + hh[:, None] * sy
    # quads: each corner pulled inwards by up to 12 % of the side
    pull_x, pull_y = rng.uniform(0, 0.24, (n, 4)), rng.uniform(0, 0.24, (n, 4))
    m = shape == 1
    qx[m] -= (hw[:, None] * sx * pull_x)[m]
    qy[m] -= (hh[:, None] * sy * pull_y)[m]
    # rotated rectangles, shrunk just enough to fit the rectangle
    theta = np.radians(rng.uniform(3, 10, n)) * rng.choice([-1, 1], n)
    c, s = np.cos(theta), np.abs(np.sin(theta))
    k = 0.99 * np.minimum(1 / (c + hh / hw * s), 1 / (hw / hh * s + c))
    ax, ay = hw * k, hh * k
    rx = ax[:, None] * sx * c[:, None] - ay[:, None] * sy * np.sin(theta)[:, None]
    ry = ax[:, None] * sx * np.sin(theta)[:, None] + ay[:, None] * sy * c[:, None]
    m = shape == 2
    qx[m] = (cx[:, None] + rx)[m]
    qy[m] = (cy[:, None] + ry)[m]
    geoms = shapely.polygons(np.stack([qx, qy], -1))
    # L-shapes: the (+,+) notch of the unit square, mirrored into a random corner
    m = np.flatnonzero(shape == 3)
    if len(m):
        a = 1 - 2 * rng.uniform(0.25, 0.45, len(m))
        b = 1 - 2 * rng.uniform(0.25, 0.45, len(m))
        one = np.ones(len(m))
        ux = np.stack([-one, one, one, a, a, -one], 1)
        uy = np.stack([-one, -one, b, b, one, one], 1)
        mx, my = rng.choice([-1, 1], len(m)), rng.choice([-1, 1], len(m))
        lx = cx[m, None] + hw[m, None] * ux * mx[:, None]
        ly = cy[m, None] + hh[m, None] * uy * my[:, None]
        geoms[m] = shapely.polygons(np.stack([lx, ly], -1))
    return geoms


def _along(rng: np.random.Generator, seg: dict[str, np.ndarray], spacing: tuple[float, float]
           ) -> tuple[np.ndarray, np.ndarray]:
    """Points spaced ``spacing`` apart (random per segment) along each kerb line; sets seg['count']."""
    length = np.hypot(seg["xb"] - seg["xa"], seg["yb"] - seg["ya"])
    step = rng.uniform(*spacing, len(length))
    count = np.floor(length / step + rng.random(len(length))).astype(int)  # stochastic rounding
    seg["count"] = count
    owner = np.repeat(np.arange(len(count)), count)
    i = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    t = (i + 0.5 + rng.uniform(-0.15, 0.15, len(owner))) / count[owner]
    return (seg["xa"][owner] + t * (seg["xb"] - seg["xa"])[owner],
            seg["ya"][owner] + t * (seg["yb"] - seg["ya"])[owner])


def _points_in(rng: np.random.Generator, polys: np.ndarray, owner: np.ndarray, inset: float,
               tries: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """One random point inside ``polys[owner[i]]`` (kept ``inset`` metres from its edge) per row.

    Rejection sampling in the bounding box, all rows at once; a row that misses every try
    takes the polygon's representative point.
    """
    if not len(owner):
        return np.empty(0), np.empty(0)
    used, inverse = np.unique(owner, return_inverse=True)
    inner = shapely.buffer(polys[used], -inset, join_style="mitre")
    inner = np.where(shapely.is_empty(inner), polys[used], inner)
    shapely.prepare(inner)
    target = inner[inverse]
    minx, miny, maxx, maxy = shapely.bounds(target).T
    x = rng.uniform(minx[:, None], maxx[:, None], (len(owner), tries))
    y = rng.uniform(miny[:, None], maxy[:, None], (len(owner), tries))
    ok = shapely.contains_xy(target[:, None], x, y)
    pick = ok.argmax(1)
    rows = np.arange(len(owner))
    px, py = x[rows, pick], y[rows, pick]
    miss = ~ok.any(1)
    if miss.any():
        rep = shapely.point_on_surface(target[miss])
        px[miss], py[miss] = shapely.get_x(rep), shapely.get_y(rep)
    return px, py


def _frame(columns: dict[str, Any], geoms: np.ndarray) -> gpd.GeoDataFrame:
    """A layer frame: ``id`` 1..N, the fields, booleans as pandas ``boolean``, EPSG:4326 geometry."""
    data = {"id": np.arange(1, len(geoms) + 1, dtype=np.int64)}
    for name, values in columns.items():
        values = np.asarray(values)
        data[name] = pd.array(values, dtype="boolean") if values.dtype == bool else values
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=geoms, crs="EPSG:4326")
