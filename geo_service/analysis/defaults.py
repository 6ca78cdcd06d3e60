"""Every default of every analysis, each with its source (see shared/STANDARDS.md).

This is the one place where the numbers live. The analysis functions take these values as
keyword defaults, and the registry hands the same declarations to the API (query parameters,
OpenAPI), the CLI (``--param key=value``) and ``settings.analysis_params`` overrides.
"""

from __future__ import annotations

from .params import Param

# ------------------------------------------------------------------------------------- parking
OLD_BEFORE_YEAR = Param(
    "old_before_year", int, 2000, minimum=1900, maximum=2100,
    source="STANDARDS.md parking table: compounds built before 2000 (old public/售后房 housing)",
    description="compounds built before this year use ratio_pre2000; newer ones go by flat size")
RATIO_PRE2000 = Param(
    "ratio_pre2000", float, 0.5, minimum=0, maximum=5,
    source="planning practice; Shanghai cases: ~200 spaces for 1,000+ households (STANDARDS.md)",
    description="parking demand, spaces per household, of compounds built before old_before_year "
                "(also used when build year or flat size is unknown)")
SMALL_FLAT_M2 = Param(
    "small_flat_m2", float, 100.0, minimum=5, maximum=1000,
    source="Shanghai DG/TJ08-7 residential table (edition to be checked)",
    description="newer flats below this average size use ratio_small_flat")
LARGE_FLAT_M2 = Param(
    "large_flat_m2", float, 150.0, minimum=5, maximum=1000,
    source="Shanghai DG/TJ08-7 residential table (edition to be checked)",
    description="newer flats above this average size use ratio_large_flat; between the two, ratio_medium_flat")
RATIO_SMALL_FLAT = Param(
    "ratio_small_flat", float, 0.4, minimum=0, maximum=5,
    source="Shanghai DG/TJ08-7: 0.3-0.5 spaces/household for flats < 100 m² (midpoint)",
    description="parking demand, spaces per household, of newer compounds with small flats")
RATIO_MEDIUM_FLAT = Param(
    "ratio_medium_flat", float, 0.6, minimum=0, maximum=5,
    source="Shanghai DG/TJ08-7: 0.5-0.7 spaces/household for flats of 100-150 m² (midpoint)",
    description="parking demand, spaces per household, of newer compounds with medium flats")
RATIO_LARGE_FLAT = Param(
    "ratio_large_flat", float, 0.95, minimum=0, maximum=5,
    source="Shanghai DG/TJ08-7: 0.8-1.1 spaces/household for flats > 150 m² (midpoint)",
    description="parking demand, spaces per household, of newer compounds with large flats")
USE_REGISTERED_VEHICLES = Param(
    "use_registered_vehicles", bool, True,
    source="issue: demand is registered_vehicles where the data has it",
    description="take a compound's registered_vehicles as its demand when recorded (else households x ratio)")
RANK_BY = Param(
    "rank_by", str, "gap", choices=("gap", "gap_per_100_households"),
    source="planning judgement",
    description="rank compounds by the absolute gap (spaces) or by the gap per 100 households")

PARKING_GAPS = (OLD_BEFORE_YEAR, RATIO_PRE2000, SMALL_FLAT_M2, LARGE_FLAT_M2, RATIO_SMALL_FLAT, RATIO_MEDIUM_FLAT,
                RATIO_LARGE_FLAT, USE_REGISTERED_VEHICLES, RANK_BY)

# ------------------------------------------------------------------------------ shared parking
WALK_M = Param(
    "walk_m", float, 500.0, minimum=0, maximum=5000,
    source="Shanghai 2016 《关于促进本市停车资源共享利用的指导意见》: at most 500 m (300 m preferred)",
    description="longest walk from a compound to a shared lot, metres (along roads when a roads layer is loaded)")
SHARE_KINDS = Param(
    "share_kinds", str, "public,office,commercial",
    source="programme documents: 定向社会停车场, 错时停车 (STANDARDS.md)",
    description="parking_facilities kinds that can share spaces off-peak (comma-separated)")
FLAGGED_KINDS = Param(
    "flagged_kinds", str, "hospital,school",
    source="STANDARDS.md: hospital/school lots share only where flagged",
    description="kinds that share only when the lot is flagged shareable (comma-separated)")
OFF_PEAK = Param(
    "off_peak", str, "weekdays 17:00-08:00, weekends all day",
    source="Shanghai shared-parking schemes (e.g. Hongkou), STANDARDS.md",
    description="the off-peak window written on each arrangement")
MEASURE_FROM = Param(
    "measure_from", str, "point", choices=("point", "edge"),
    source="planning judgement",
    description="walk from the compound's representative point (as drawn) or from its boundary")

SHARED_PARKING = PARKING_GAPS + (WALK_M, SHARE_KINDS, FLAGGED_KINDS, OFF_PEAK, MEASURE_FROM)

# ------------------------------------------------------------------------------- fire hydrants
RADIUS_M = Param(
    "radius_m", float, 150.0, minimum=1, maximum=1000,
    source="GB 50974-2014 §7.2.5 / §7.3.3: protection radius of an outdoor hydrant",
    description="a working hydrant covers everything within this distance, metres")
WORKING_STATUS = Param(
    "working_status", str, "working",
    source="STANDARDS.md: only hydrants whose status is working count toward coverage",
    description="the fire_hydrants status that counts toward coverage")
BROKEN_STATUSES = Param(
    "broken_statuses", str, "faulty,under_repair,out_of_service",
    source="issue: faulty, under repair and out-of-service hydrants are listed",
    description="statuses of hydrants listed for repair when in or within radius_m of a compound")
CIRCLE_SEGMENTS = Param(
    "circle_segments", int, 64, minimum=8, maximum=1024,
    source="numerical: equal-area polygons of this many sides stand for the circles",
    description="sides of the polygon that stands for a protection circle")

HYDRANT_COVERAGE = (RADIUS_M, WORKING_STATUS, BROKEN_STATUSES, CIRCLE_SEGMENTS)

# ------------------------------------------------------------------------------ e-bike charging
REACH_M = Param(
    "reach_m", float, 100.0, minimum=0, maximum=2000,
    source="STANDARDS.md: counts toward a compound if inside or within 100 m of its boundary (planning judgement)",
    description="a charging site outside a compound serves it up to this distance from its boundary, metres")
TARGET_PORTS = Param(
    "target_ports_per_100_households", float, 10.0, minimum=0, maximum=1000,
    source="STANDARDS.md: 1 port per 10 households in old compounds (planning judgement)",
    description="charging ports wanted per 100 households")
COUNTED_STATUSES = Param(
    "counted_statuses", str, "working",
    source="planning judgement: faulty, planned and removed sites serve nobody",
    description="ebike_charging_sites statuses whose ports count (sites without a status count too)")

CHARGING_COVERAGE = (REACH_M, TARGET_PORTS, COUNTED_STATUSES)

# -------------------------------------------------------------------------------- waterlogging
NEAR_M = Param(
    "near_m", float, 50.0, minimum=0, maximum=2000,
    source="planning judgement (issue: e.g. 50 m)",
    description="a waterlogging point outside a compound counts for it up to this distance, metres")
DEPTH_CM = Param(
    "depth_cm", float, 15.0, minimum=0, maximum=500,
    source="GB 50014: at most 15 cm in one traffic lane",
    description="a point counts as waterlogged from this depth on, cm")
DURATION_MIN = Param(
    "duration_min", float, 30.0, minimum=0, maximum=10080,
    source="local practice; the standard leaves it to each city (STANDARDS.md)",
    description="... and from this duration on, minutes")
EXCLUDE_FIXED = Param(
    "exclude_fixed", bool, True,
    source="planning judgement: a fixed (已整治) point no longer floods",
    description="leave out points whose status is fixed")
EPS_M = Param(
    "eps_m", float, 300.0, minimum=1, maximum=5000,
    source="issue: DBSCAN in metres, eps e.g. 300 m",
    description="hotspot clustering: neighbourhood radius, metres")
MIN_POINTS = Param(
    "min_points", int, 3, minimum=1, maximum=1000,
    source="issue: DBSCAN min 3 points",
    description="hotspot clustering: points within eps_m (itself included) that make a core point")
HULL_BUFFER_M = Param(
    "hull_buffer_m", float, 30.0, minimum=0, maximum=1000,
    source="planning judgement: the convex hull 'buffered a little'",
    description="buffer around a hotspot's convex hull, metres")

WATERLOGGING = (NEAR_M, DEPTH_CM, DURATION_MIN, EXCLUDE_FIXED, EPS_M, MIN_POINTS, HULL_BUFFER_M)

# ------------------------------------------------------------------------ renovation priorities
_WEIGHT_SOURCE = "planning judgement: equal weights; set per street office in settings.analysis_params"
WEIGHT_PARKING = Param("weight_parking", float, 1.0, minimum=0, maximum=100, source=_WEIGHT_SOURCE,
                       description="weight of the parking component (category 4)")
WEIGHT_DRAINAGE = Param("weight_drainage", float, 1.0, minimum=0, maximum=100, source=_WEIGHT_SOURCE,
                        description="weight of the drainage component (category 6)")
WEIGHT_FIRE = Param("weight_fire", float, 1.0, minimum=0, maximum=100, source=_WEIGHT_SOURCE,
                    description="weight of the fire-facilities component (category 11)")
WEIGHT_CHARGING = Param("weight_charging", float, 1.0, minimum=0, maximum=100, source=_WEIGHT_SOURCE,
                        description="weight of the e-bike charging component (category 12)")
ELIGIBLE_BEFORE_YEAR = Param(
    "eligible_before_year", int, 2001, minimum=1900, maximum=2100,
    source="Minhang 2016 guide; 国办发〔2020〕23号: compounds built before the end of 2000",
    description="compounds built before this year are eligible for the programme")
DEMONSTRATION_SHARE = Param(
    "demonstration_share", float, 0.10, minimum=0, maximum=1,
    source="Minhang 2016 guide: 示范版 >= 10 % of eligible compounds per street/town",
    description="smallest share of each street's eligible compounds proposed as demonstration (rounded up)")
UPGRADE_SHARE = Param(
    "upgrade_share", float, 0.40, minimum=0, maximum=1,
    source="Minhang 2016 guide: 提升版 >= 40 % of eligible compounds per street/town",
    description="smallest share of each street's eligible compounds proposed as upgrade (rounded up)")
NEED_THRESHOLD = Param(
    "need_threshold", float, 0.05, minimum=0, maximum=1,
    source="planning judgement: ignore slivers",
    description="a component (0-1) from this value on puts its renovation category on the plan")
NET_OF_SHARING = Param(
    "net_of_sharing", bool, True,
    source="Minhang 2015-2017 plan item (12): shared off-peak parking first",
    description="measure the parking need after the shared-parking plan (else the raw gap)")

PLAN_YEAR = Param(
    "plan_year", int, 0, minimum=0, maximum=2100,
    source="programme practice: one plan per compound and year (Minhang 2016 guide)",
    description="the programme year whose stored plans are shown beside the suggestion (0: the current year)")

RENOVATION_OWN = (WEIGHT_PARKING, WEIGHT_DRAINAGE, WEIGHT_FIRE, WEIGHT_CHARGING, ELIGIBLE_BEFORE_YEAR,
                  DEMONSTRATION_SHARE, UPGRADE_SHARE, NEED_THRESHOLD, NET_OF_SHARING, PLAN_YEAR)
RENOVATION_PRIORITIES = RENOVATION_OWN + SHARED_PARKING + HYDRANT_COVERAGE + CHARGING_COVERAGE + WATERLOGGING

# ---------------------------------------------------------------------- 15-minute life circle
# GB 50180-2018 城市居住区规划设计标准: §3.0.4 and Table 3.0.4 set the circles by walking distance
# (5-minute 300 m, 10-minute 500 m, 15-minute 800-1,000 m; walking speed about 60 m/min, §2.0.2-2.0.4
# terms); Appendix B Table B.0.1 (配套设施设置规定) lists the facilities each circle must have (▲) and
# Appendix C Tables C.0.1/C.0.2 give their service radii. The categories below are the
# service_facilities values (layers/service_facilities.yaml) the data can show; a category is judged
# against the radius of the circle whose list names it.
_GB50180 = "GB 50180-2018 §3.0.4 Table 3.0.4"
CIRCLE_5_M = Param(
    "circle_5_m", float, 300.0, minimum=50, maximum=5000, source=f"{_GB50180}: 5-minute circle, 300 m walk",
    description="walking distance of the 5-minute life circle, metres")
CIRCLE_10_M = Param(
    "circle_10_m", float, 500.0, minimum=50, maximum=5000, source=f"{_GB50180}: 10-minute circle, 500 m walk",
    description="walking distance of the 10-minute life circle, metres")
CIRCLE_15_M = Param(
    "circle_15_m", float, 1000.0, minimum=50, maximum=5000,
    source=f"{_GB50180}: 15-minute circle, 800-1,000 m walk (upper bound; Shanghai 2016 guideline: 800-1,000 m)",
    description="walking distance of the 15-minute life circle, metres")
WALK_SPEED = Param(
    "walk_speed_m_per_min", float, 60.0, minimum=10, maximum=200,
    source="GB 50180-2018 §2.0.2-2.0.4 (planning walking speed about 60 m/min: 15 min ≈ 1,000 m)",
    description="walking speed that turns minutes into metres for isochrones of other than 5/10/15 minutes")
REQUIRED_5 = Param(
    "required_5", str, "kindergarten,elderly_day_care,community_service_station,health_station,"
                        "convenience_store,fitness_ground",
    source="GB 50180-2018 Appendix B Table B.0.1, 5-minute column (▲: 幼儿园, 老年人日间照料中心, 社区服务站, "
           "社区卫生服务站, 社区商业网点, 室外综合健身场地); Table C.0.2 radius ≤ 300 m",
    description="facility categories a compound must reach within circle_5_m (comma-separated)")
REQUIRED_10 = Param(
    "required_10", str, "primary_school,market,sports_ground,bus_stop",
    source="GB 50180-2018 Appendix B Table B.0.1, 10-minute column (▲: 小学, 菜市场或生鲜超市, 中型多功能运动场地; "
           "公交车站 per Table C.0.1 radius ≤ 500 m)",
    description="facility categories a compound must reach within circle_10_m (comma-separated)")
REQUIRED_15 = Param(
    "required_15", str, "middle_school,health_centre,sports_centre,culture_centre,community_centre,"
                         "nursing_home,park",
    source="GB 50180-2018 Appendix B Table B.0.1, 15-minute column (▲: 初中, 社区卫生服务中心, 大型多功能运动场地, "
           "文化活动中心, 社区服务中心(街道级), 养老院); §4.0.4 Table 4.0.4 居住区公园; Table C.0.1 radius ≤ 1,000 m",
    description="facility categories a compound must reach within circle_15_m (comma-separated)")
FACILITY_STATUSES = Param(
    "facility_statuses", str, "working",
    source="issue 17: only working facilities serve (closed, planned, under construction do not)",
    description="service_facilities statuses that count (facilities without a status count too)")
DETOUR_FACTOR = Param(
    "detour_factor", float, 1.4, minimum=1, maximum=5,
    source="planning judgement: urban walking routes are typically 1.2-1.4 x the straight line (route "
           "directness); 1.4 errs on the side of a gap",
    description="where no road network covers a compound or facility: walk = straight line x this (flagged)")
SNAP_MAX_M = Param(
    "snap_max_m", float, 200.0, minimum=0, maximum=5000,
    source="planning judgement: farther than this from any road node, the network does not cover a place",
    description="a compound or facility farther than this from the network is routed by the detour factor")
ENTRY_REACH_M = Param(
    "entry_reach_m", float, 30.0, minimum=0, maximum=500,
    source="planning judgement: a road within 30 m of a compound's boundary serves it (kerb + setback)",
    description="road nodes this close to a compound's boundary (or inside it) are its entrances")
MAX_WALK_M = Param(
    "max_walk_m", float, 3000.0, minimum=100, maximum=20000,
    source="numerical: bounds Dijkstra; a nearest facility farther than this is reported as beyond it",
    description="longest walk searched, metres")

LIFE_CIRCLE = (CIRCLE_5_M, CIRCLE_10_M, CIRCLE_15_M, WALK_SPEED, REQUIRED_5, REQUIRED_10, REQUIRED_15,
               FACILITY_STATUSES, DETOUR_FACTOR, SNAP_MAX_M, ENTRY_REACH_M, MAX_WALK_M)

# --------------------------------------------------------------------- city health check (城市体检)
# No parameters of its own: it counts what the analyses it runs find, with their parameters.
HEALTH_CHECK = PARKING_GAPS + CHARGING_COVERAGE + WATERLOGGING + HYDRANT_COVERAGE + LIFE_CIRCLE
