"""Chinese labels for the codes events carry (meeting kinds, venues, categories), for the templates."""

from __future__ import annotations

MEETING_KINDS = {
    "branch_member_meeting": "支部党员大会",
    "branch_committee_meeting": "支部委员会",
    "party_group_meeting": "党小组会",
    "party_lesson": "党课",
    "theme_party_day": "主题党日",
    "training_class": "培训班",
    "organisational_life": "组织生活会",
    "secretary_lecture": "书记讲党课",
}
VENUES = {
    "activity_room": "党员活动室",
    "repair_shop": "修理厂",
    "rest_station": "司机之家驿站",
    "online": "线上",
    "other": "其他地点",
}
MODES = {"offline": "线下", "online": "线上", "hybrid": "线上线下同步"}
NEED_CATEGORIES = {
    "certificate_review": "证件审验",
    "medical": "就医",
    "rights": "权益维护",
    "road_traffic": "道路交通",
    "parking_rest": "停车休息",
    "family_hardship": "家庭困难",
    "other": "其他",
}
CONTENT_CATEGORIES = {
    "theory_policy": "理论政策",
    "road_safety": "道路安全",
    "laws_regulations": "法律法规",
    "other": "学习资料",
}


def label(table: dict[str, str], code: str | None) -> str:
    """The label of a known code; an unknown code (a newer producer) is shown as it is."""
    if code is None:
        return ""
    return table.get(code, code)
