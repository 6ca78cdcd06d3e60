"""Chinese and English labels: renovation categories and result columns (for CSV headers, tables, maps)."""

from __future__ import annotations

# The programme's renovation categories the analyses can point to (Minhang 2016 guide, 15 categories).
CATEGORIES: dict[int, tuple[str, str]] = {
    4: ("停车", "parking"),
    6: ("雨污分流/排水", "rain/sewage separation & drainage"),
    11: ("消防", "fire facilities"),
    12: ("电瓶车充电", "e-bike charging"),
}

# Column titles in Chinese; columns not listed keep their (English) names.
COLUMNS_ZH: dict[str, str] = {
    "id": "编号", "name": "名称", "district": "区", "street": "街道/镇", "build_year": "建成年份",
    "households": "户数", "rank": "排名",
    # parking gaps
    "demand_source": "需求依据", "ratio": "配建比例", "ratio_basis": "比例依据", "demand": "停车需求",
    "spaces_attribute": "小区车位(属性)", "spaces_facilities": "小区停车场泊位", "supply": "停车供给",
    "gap": "缺口", "gap_spaces": "缺口泊位", "gap_per_100_households": "每百户缺口",
    # shared parking
    "arrangement": "序号", "compound_id": "小区编号", "compound_name": "小区名称", "lot_id": "停车场编号",
    "lot_name": "停车场名称", "lot_kind": "停车场类型", "spaces": "共享泊位", "distance_m": "步行距离(米)",
    "space_m": "泊位×距离", "off_peak": "错时时段", "lot_open_hours": "开放时间", "lot_fee": "收费",
    "served": "已解决", "unserved": "未解决", "share_served": "解决比例", "lots_used": "使用停车场数",
    "lots_in_reach": "可达停车场数",
    # hydrants
    "area_m2": "面积(平方米)", "covered_share": "覆盖比例", "uncovered_m2": "未覆盖面积(平方米)",
    "working_hydrants": "正常消火栓", "broken_hydrants": "待修消火栓", "broken_inside": "小区内待修消火栓",
    "broken_faulty": "故障", "broken_under_repair": "维修中", "broken_out_of_service": "停用",
    "broken_ids": "待修消火栓编号",
    # charging
    "sites": "充电点", "ports": "充电端口", "ports_per_100_households": "每百户端口",
    "target_per_100_households": "每百户目标", "port_shortfall": "端口缺口", "meets_target": "达标",
    "sites_without_sprinkler": "无喷淋充电点", "sites_not_counted": "未计入充电点", "no_charging": "无充电设施",
    "counted": "计入", "has_sprinkler": "有简易喷淋", "status": "状态",
    # waterlogging
    "points": "积水点", "points_inside": "小区内积水点", "waterlogged_points": "达标积水点",
    "waterlogged_internal": "内部原因积水点", "severity": "严重度", "severity_internal": "内部严重度",
    "severity_sum": "严重度合计", "max_point_severity": "最大单点严重度",
    "cause_external_backflow": "外围倒灌", "cause_internal_drainage": "内部排水不足", "cause_other": "其他原因",
    "dominant_cause": "主要成因", "hotspots": "积水片区", "hotspot": "积水片区", "compound_ids": "小区编号",
    "compound_names": "小区名称", "depth_cm": "积水深度(厘米)", "duration_min": "积水时长(分钟)",
    "events_per_year": "年积水次数", "depth_filled": "深度补全", "duration_filled": "时长补全",
    "events_filled": "次数补全", "waterlogged": "达积水标准", "cause": "成因", "mean_depth_cm": "平均深度(厘米)",
    "max_depth_cm": "最大深度(厘米)",
    # renovation priorities
    "renovation_status": "改造状态", "eligible": "符合改造条件", "tier": "建议版本", "tier_zh": "建议版本",
    "street_rank": "街镇内排名", "score": "优先得分", "c_parking": "停车分项", "c_drainage": "排水分项",
    "c_fire": "消防分项", "c_charging": "充电分项", "categories": "改造项目", "categories_en": "改造项目(英文)",
    "parking_gap_spaces": "停车缺口", "shared_spaces": "共享泊位", "uncovered_share": "消火栓未覆盖比例",
    "external_backflow_points": "外围倒灌积水点(转交职能部门)", "demonstration": "示范版", "upgrade": "提升版",
    "basic": "基础版", "demonstration_share": "示范版比例", "upgrade_share": "提升版比例", "quotas_met": "满足比例要求",
    # stored plans beside the suggestion, and agreements already made (issue 16)
    "plan_id": "方案编号", "plan_tier": "计划版本", "plan_tier_zh": "计划版本", "plan_status": "方案状态",
    "plan_status_zh": "方案状态", "agreed": "协议泊位",
}

# Coded values of result columns, by column: (zh, en). The codes are the catalog's (layers/*.yaml),
# so the same words label a value in a CSV, the map and the OGC pages (tests/test_labels.py checks).
_TIERS = {"demonstration": ("示范版", "Demonstration"), "upgrade": ("提升版", "Upgrade"), "basic": ("基础版", "Basic")}
_CAUSES = {"external_backflow": ("外围地势高倒灌", "External backflow"),
           "internal_drainage": ("内部排水不足", "Internal drainage insufficient"), "other": ("其他", "Other")}
VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "tier": _TIERS,
    "renovation_status": {"not_planned": ("未列入", "Not planned"), "planned": ("已列入计划", "Planned"),
                          "in_progress": ("实施中", "In progress"), "completed": ("已完成", "Completed")},
    "lot_kind": {"compound": ("小区内停车", "Compound"), "public": ("公共停车场", "Public"),
                 "office": ("单位停车场", "Office"), "commercial": ("商业停车场", "Commercial"),
                 "street": ("道路停车", "On-street"), "hospital": ("医院停车场", "Hospital"),
                 "school": ("学校停车场", "School")},
    "cause": _CAUSES,
    "dominant_cause": _CAUSES,
    "demand_source": {"registered_vehicles": ("登记车辆数", "Registered vehicles"),
                      "households": ("户数×配建比例", "Households × ratio")},
}
# status means different things in different parts: charging sites' and waterlogging points' codes
STATUS_VALUES: dict[str, tuple[str, str]] = {
    "working": ("正常", "Working"), "planned": ("规划中", "Planned"), "faulty": ("故障", "Faulty"),
    "removed": ("已拆除", "Removed"), "open": ("未整治", "Open"), "in_progress": ("整治中", "In progress"),
    "fixed": ("已整治", "Fixed"),
}
VALUES["status"] = STATUS_VALUES
VALUES["plan_tier"] = _TIERS
VALUES["plan_status"] = {  # layers/renovation_plans.yaml
    "proposed": ("拟定", "Proposed"), "consulting": ("征询居民意见", "Consulting residents"),
    "public_notice": ("方案公示", "Public notice"), "approved": ("已批准", "Approved"),
    "in_progress": ("实施中", "In progress"), "completed": ("已完工", "Completed"), "accepted": ("已验收", "Accepted"),
    "cancelled": ("已取消", "Cancelled")}
YES_NO: dict[bool, tuple[str, str]] = {True: ("是", "Yes"), False: ("否", "No")}
CODE_SUFFIX = {"zh": "代码", "en": "_code"}
