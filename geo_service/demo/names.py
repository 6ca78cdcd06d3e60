"""Place names: districts and 街道/镇 in spiral order, compound name stems, and compound naming."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .city import City

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


def street_names(n: int) -> tuple[np.ndarray, np.ndarray]:
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


def stem(street: str) -> str:
    """梅陇镇 -> 梅陇, 古美路街道 -> 古美, 曹杨新村街道 -> 曹杨: the street's own place name."""
    for suffix in ("街道", "新镇", "镇", "新村", "路"):
        if street.endswith(suffix) and len(street) - len(suffix) >= 2:
            street = street[: -len(suffix)]
    return street


def stems(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.array(STEMS, dtype=object)[rng.integers(0, len(STEMS), n)]


def pick(rng: np.random.Generator, options: list[list[str]], group: np.ndarray) -> np.ndarray:
    """For each row, one random string from ``options[group[row]]``."""
    out = np.empty(len(group), dtype=object)
    u = rng.random(len(group))
    for g, opts in enumerate(options):
        m = group == g
        out[m] = np.array(opts, dtype=object)[(u[m] * len(opts)).astype(int)]
    return out


def name_compounds(city: City) -> None:
    """Chinese names unique within a street: numbered 村 series for old 公房, 花园/苑/... for newer ones.

    A light loop over compounds (names are per-feature strings by nature).
    """
    rng, N = city.rng, len(city.c_poly)
    names = np.empty(N, dtype=object)
    series = city.c_old & np.isin(city.c_type, ["public_sold", "resettlement", "other"])
    series &= (rng.random(N) < 0.75) | (city.c_core_d < 600)  # some old ones have a name of their own
    # per street: 村 series first, walking out from the core sector by sector, so 一村, 二村, 三村 are neighbours
    angle = np.arctan2(city.c_y - city.core_y[city.c_tile], city.c_x - city.core_x[city.c_tile])
    sector = np.floor((angle + np.pi) / (np.pi / 3)).astype(int)
    order = np.lexsort((city.c_core_d, sector, ~series, city.c_tile))
    bounds = np.flatnonzero(np.diff(city.c_tile[order])) + 1
    series_sizes = rng.integers(2, 8, N)
    picks = rng.integers(0, 1 << 30, (N, 2))
    for group in np.split(order, bounds):
        if not len(group):
            continue
        t = city.c_tile[group[0]]
        street = city.street[t]
        stems = [stem(street)] + [STEMS[i] for i in rng.permutation(len(STEMS))]
        used: set[str] = set()
        stem_i, in_series, size = 0, 0, max(3, series_sizes[group[0]])
        free = 1  # next stem not reserved for a 村 series
        for i in group:
            kind = city.c_type[i]
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
                suffixes = (("里", "坊") if kind == "old_lane" else OLD_SUFFIXES if city.c_old[i]
                            else RESETTLEMENT_SUFFIXES if kind in ("resettlement", "affordable")
                            else NEW_SUFFIXES)
                for j in range(len(stems) * len(suffixes)):
                    name = f"{stems[1 + (a + j) % (len(stems) - 1)]}{suffixes[(b + j) % len(suffixes)]}"
                    if name not in used:
                        break
            used.add(name)
            names[i] = name
    # The reports need 梅陇三村; tiny scales may not have made it, so rename the oldest 梅陇镇 compound.
    street_of = city.street[city.c_tile]
    in_street = np.flatnonzero(street_of == DEMO_COMPOUND[0])
    if len(in_street) and not (names[in_street] == DEMO_COMPOUND[1]).any():
        names[in_street[np.argmin(city.c_year[in_street])]] = DEMO_COMPOUND[1]
    city.c_name = names
