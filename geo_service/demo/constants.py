"""The demo city's fixed figures: projection, layout sizes, parking lot kinds, land uses."""

from __future__ import annotations

from typing import NamedTuple

DEFAULT_SEED = 20240601
METRIC_CRS = "EPSG:32651"  # UTM 51N covers Shanghai (120-126E): metres for layout, areas and distances
ORIGIN_LONLAT = (121.40, 31.12)  # between 梅陇镇, 古美路街道 and 莘庄镇, 闵行区
LAYER_IDS = ("compounds", "waterlogging_points", "parking_facilities", "ebike_charging_sites", "fire_hydrants",
             "roads", "service_facilities")

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
# GB 50974-2014 §7.2.4: municipal hydrants on one side of the street (both sides only where it is
# wider than 60 m; ours are at most 44 m); §7.2.5: at most 120 m apart, protection radius 150 m.
HYDRANT_SPACING_M = (80.0, 120.0)  # along the street, per hydrant; real streets vary
# §7.3: a site's own outdoor hydrants stand around its buildings, 5-40 m from the walls, <= 120 m apart
SITE_HYDRANT_SPACING_M = (70.0, 110.0)  # along the ring around one building: about one per side
BUILDING_SIDE_M = (40.0, 90.0)
BUILDING_OFFSET_M = (6.0, 12.0)  # ring distance from the walls
SITE_SETBACK_M = 30.0  # buildings stand back from the block edge: clear of the street's hydrants
# status before the old-core adjustment in hydrants.py; faulty + under repair end near 9 % overall
# (planning judgement for a believable network, not a published figure)
HYDRANT_STATUS_P = {"working": 0.86, "faulty": 0.05, "under_repair": 0.03, "out_of_service": 0.03,
                    "unknown": 0.03}


class LotKind(NamedTuple):
    """One kind of parking lot. Lots outside compounds are small and few enough near the old cores
    that off-peak sharing closes some compounds' gaps and only narrows others'."""

    capacity: tuple[int, int]  # log-uniform range (compound lots split the compound's spaces instead)
    night_free: tuple[float, float]  # share of spaces free at night: who can offer 错时共享停车
    shareable: float  # chance the lot already shares off-peak
    hours: tuple[str, ...]
    fees: tuple[str, ...]


PARKING_KINDS = {
    "compound": LotKind((1, 1), (0.0, 0.04), 0.05, ("00:00-24:00",),
                         ("业主包月150元/月", "业主包月200元/月", "业主包月300元/月", "临停5元/小时")),
    "public": LotKind((10, 80), (0.1, 0.45), 0.8, ("00:00-24:00", "07:00-22:00"),
                       ("5元/小时", "首小时10元，之后5元/小时", "夜间包月300元/月")),
    "office": LotKind((8, 60), (0.6, 0.92), 0.6, ("08:00-19:00", "07:30-20:00", "00:00-24:00"),
                       ("10元/小时", "夜间包月400元/月", "内部免费")),
    "commercial": LotKind((30, 200), (0.4, 0.8), 0.5, ("09:00-23:00", "10:00-22:00"),
                           ("10元/小时", "消费满200元免2小时")),
    "hospital": LotKind((40, 300), (0.2, 0.5), 0.2, ("00:00-24:00",), ("10元/小时",)),
    "school": LotKind((20, 120), (0.7, 0.95), 0.3, ("07:00-18:00",), ("内部免费", "夜间包月200元/月")),
    "street": LotKind((8, 40), (0.0, 0.25), 0.0, ("07:00-21:00", "07:00-19:00"),
                       ("5元/小时", "首小时10元，之后5元/小时")),
}

LAND_USES = ("industrial", "office", "commercial", "school", "hospital", "green", "public", "vacant")
LAND_USE_P = (0.22, 0.14, 0.11, 0.10, 0.03, 0.15, 0.08, 0.17)
