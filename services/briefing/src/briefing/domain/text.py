"""The briefing (工作简报) as text: a title, an opening, then the four parts of the seed briefing, each
saying the period's figures in sentences, with drivers' words recorded with their consent.

A sentence whose figure is zero is left out rather than printed as "0": a briefing tells what was done.
The result is a structure (`Briefing`); `render` turns it into Markdown or HTML through the templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from jinja2 import Environment, FunctionLoader, select_autoescape
from roadbranch_shared.contracts.welfare import CAMPAIGN_KINDS, NEED_CATEGORIES

from briefing.domain.figures import Figures
from briefing.domain.periods import Period

SOURCE_NAMES = {
    "freight_company": "传统道路货运企业",
    "freight_platform": "互联网货运平台企业",
    "individual": "个体货车司机",
}
METHOD_NAMES = {
    "field_visit": "实地走访",
    "phone_call": "电话访问",
    "group_meeting": "集中座谈",
    "data_comparison": "信息比对",
}
CONTENT_NAMES = {
    "theory_policy": "理论政策",
    "road_safety": "道路交通安全",
    "laws_regulations": "法律法规",
}
NEED_NAMES = NEED_CATEGORIES
CHANNEL_NAMES = {"sms": "短信", "wechat": "企业微信", "email": "电子邮件", "inbox": "站内消息"}
PART_TITLES = (
    "全力摸清底数，把党员货车司机“找出来”",
    "健全组织体系，把党员货车司机“联起来”",
    "搭建学习平台，把党员货车司机“聚起来”",
    "提供精准服务，把党员货车司机“暖起来”",
)
PART_KEYS = ("find", "connect", "gather", "warm")


@dataclass(frozen=True)
class Quote:
    """A driver's own words, recorded with his consent; `speaker` is how he agreed to be named."""

    text: str
    speaker: str
    part: str  # find | connect | gather | warm
    context: str = ""


@dataclass
class Part:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)


@dataclass
class Briefing:
    title: str
    county_name: str
    period_title: str
    lead: list[Quote]
    opening: list[str]
    parts: list[Part]
    closing: list[str]
    figures: Figures


CAMPAIGN_NAMES = CAMPAIGN_KINDS
MEETING_NAMES = {
    "party_lesson": "党课",
    "theme_party_day": "主题党日活动",
    "training_class": "党务工作者培训班",
    "branch_member_meeting": "支部党员大会",
    "branch_committee_meeting": "支部委员会",
    "party_group_meeting": "党小组会",
    "organisational_life": "组织生活会",
}


def quotes_of(figures: Figures) -> list[Quote]:
    """Drivers' words recorded with their consent, credited without a name: the events carry none,
    and the county's editor adds one only where the speaker agreed to it."""
    quotes = []
    for q in figures.gather.quotes:
        meeting = MEETING_NAMES.get(q.get("kind") or "", "活动")
        where = f"在{q['venue_name']}" if q.get("venue_name") else ""
        quotes.append(
            Quote(text=q["text"], speaker="党员货车司机", part="gather", context=f"{where}参加{meeting}后")
        )
    for q in figures.warm.quotes:
        campaign = CAMPAIGN_NAMES.get(q.get("campaign_kind") or "", "关爱")
        speaker = "党员货车司机" if q.get("member") else "货车司机"
        quotes.append(Quote(text=q["text"], speaker=speaker, part="warm", context=f"在“{campaign}”走访中"))
    return quotes


def compose(figures: Figures, period: Period, county_name: str) -> Briefing:
    """The briefing of the period. As in the seed, the first of the drivers' words opens it."""
    quotes = quotes_of(figures)
    lead, quotes = (quotes[:1], quotes[1:])
    parts = [Part(title) for title in PART_TITLES]
    for key, part in zip(PART_KEYS, parts, strict=True):
        part.quotes = [q for q in quotes if q.part == key]
    parts[0].paragraphs = _find(figures)
    parts[1].paragraphs = _connect(figures)
    parts[2].paragraphs = _gather(figures)
    parts[3].paragraphs = _warm(figures)
    return Briefing(
        title="做好货车司机党建宣传工作简报",
        county_name=county_name,
        period_title=period.title,
        lead=lead,
        opening=[
            f"{period.title}，{county_name}货车司机群体党建试点工作精准施策，有形有效推动货车司机群体"
            "党建工作落地落实，为道路运输行业高质量发展注入“红色动能”。"
        ],
        parts=[p for p in parts if p.paragraphs],
        closing=_closing(figures),
        figures=figures,
    )


def _join(items: dict[str, int], names: dict[str, str], unit: str) -> str:
    return "、".join(f"{names.get(k, k)}{v}{unit}" for k, v in items.items() if v)


def _find(f: Figures) -> list[str]:
    x = f.find
    out = []
    if x.drivers_checked:
        sources = _join(x.drivers_by_source, SOURCE_NAMES, "名")
        out.append(
            f"对传统道路货运企业、互联网货运平台企业、个体货车司机领域开展摸底排查，共核查货车司机"
            f"{x.drivers_checked}名（{sources}）。"
        )
    if x.members_verified:
        methods = "、".join(METHOD_NAMES.get(m, m) for m in x.verified_by_method)
        sentence = f"采取{methods}等方式，" if methods else ""
        out.append(f"{sentence}通过“查身份”“核信息”甄别党员货车司机{x.members_verified}名。")
    if x.members_brought_home:
        out.append(f"动员党员货车司机“回家”，{x.members_brought_home}名党员的组织关系转入流动党员党支部。")
    if x.ledger_files:
        out.append(f"建立“一人一档”台账{x.ledger_files}份，党员货车司机全部纳入管理范围。")
    return out


def _connect(f: Figures) -> list[str]:
    x = f.connect
    out = []
    if x.work_group_co_leaders or x.work_subgroups:
        out.append(
            f"成立试点工作专班，设“双组长”{x.work_group_co_leaders}名，下设{x.work_subgroups}个工作小组。"
        )
    if x.industry_committees or x.branches:
        out.append(
            "健全“货车司机—党员司机—流动党员党支部—行业党委”组织架构，"
            f"成立行业党委{x.industry_committees}个、流动党员党支部{x.branches}个。"
        )
    if x.industry_committee_members:
        out.append(f"选优配强行业党委委员{x.industry_committee_members}名。")
    if x.branch_committee_members:
        out.append(f"配齐流动党员党支部委员{x.branch_committee_members}名。")
    g = f.gather
    if g.training_classes and g.committee_members:
        coverage = (
            "全覆盖轮训"
            if g.trained_committee_members == g.committee_members
            else f"轮训{g.trained_committee_members}名（共{g.committee_members}名）"
        )
        out.append(
            f"举办党务工作者培训班{g.training_classes}期，采取集中学习、实操情景模拟、知识测验等方式"
            f"对行业党委委员、支部委员{coverage}。"
        )
    if x.pairings:
        out.append(
            f"实行“N+1”结对帮带{x.pairings}组，联系党员货车司机{x.members_paired}名，"
            "架起与党员货车司机心灵沟通“桥梁”。"
        )
    return out


def _gather(f: Figures) -> list[str]:
    x = f.gather
    out = []
    if x.content_pushes:
        kinds = _join(x.pushes_by_category, CONTENT_NAMES, "条")
        read = f"，阅读率{x.read_rate:.0%}" if x.read_rate is not None else ""
        out.append(
            f"线上推送学习内容{x.content_pushes}条（{kinds}）{read}，确保每名党员货车司机离乡不离党、流动不流学。"
        )
    if x.activity_rooms or x.instructors_stationed:
        out.append(
            f"线下，打造党员货车司机活动室{x.activity_rooms}个，选派{x.instructors_stationed}名指导员蹲点督导，"
            "落实“三会一课”。"
        )
    if x.party_lessons:
        by_secretary = x.party_lessons_by_committee_secretary
        sentence = f"讲党课{x.party_lessons}次"
        if by_secretary == x.party_lessons:
            sentence = "行业党委书记" + sentence
        elif by_secretary:
            sentence = f"行业党委书记讲党课{by_secretary}次，共" + sentence
        if x.lessons_at_repair_shops:
            sentence += f"，其中在修理厂开讲{x.lessons_at_repair_shops}次"
        out.append(sentence + "。")
    if x.theme_party_days:
        oath = f"，其中重温入党誓词{x.oath_renewals}次" if x.oath_renewals else ""
        out.append(f"开展主题党日活动{x.theme_party_days}次{oath}。")
    if x.meetings_held and x.attendance_rate is not None:
        out.append(
            f"落实“三会一课”，共组织各类会议和活动{x.meetings_held}次，到会率{x.attendance_rate:.0%}"
            + (f"，线上参加{x.online_attendance}人次" if x.online_attendance else "")
            + (f"，补学{x.made_up}人次" if x.made_up else "")
            + "。"
        )
    return out


def _warm(f: Figures) -> list[str]:
    x = f.warm
    out = []
    if x.needs_filed:
        cats = _join(x.needs_by_category, NEED_NAMES, "件")
        sentence = f"设立诉求“直通车”，收集“微需求”{x.needs_filed}件（{cats}），办结{x.needs_resolved}件"
        if x.median_hours_to_resolve is not None and x.median_hours_to_resolve >= 0.1:
            sentence += f"，办结用时中位数{x.median_hours_to_resolve}小时"
        elif x.median_hours_to_resolve is not None:
            sentence += "，多数当即办结"
        if x.average_rating is not None:
            sentence += f"，司机评价平均{x.average_rating}分"
        out.append(sentence + "。")
    if x.stations:
        hosts = "、".join(h for h in (_host(n) for n in x.station_names) if h)
        based = f"依托{hosts}现有硬件设施" if hosts else ""
        sentence = (
            f"{based}打造“暖心之家”{x.stations}处，配置床铺{x.station_beds}张，"
            "免费为货车司机提供停车、休息等便利服务"
        )
        if x.check_ins:
            sentence += f"，接待货车司机休息{x.check_ins}人次"
        out.append(sentence + "。")
    if x.campaigns:
        kinds = "、".join(CAMPAIGN_KINDS[k] for k in x.campaign_kinds if k in CAMPAIGN_KINDS)
        held = f"“{kinds}”活动" if kinds else "关爱活动"
        sentence = (
            f"开展{held}{x.campaigns}次，慰问党员司机{x.members_visited}名，"
            f"非党员司机{x.non_members_visited}人"
        )
        if x.items_handed_out:
            kinds = "、".join(x.item_labels.get(k, k) for k in x.items_by_kind)
            sentence += f"，发放{kinds}等物品{x.items_handed_out}件"
        if x.problems_solved:
            problems = "、".join(NEED_NAMES.get(k, k) for k in x.problems_by_category)
            sentence += f"，帮助货车司机解决{problems}等困难问题{x.problems_solved}件"
        out.append(sentence + "。")
    return out


def _host(station_name: str) -> str:
    """Where a station is set up, from its name: 峨曲古乡公路养护站暖心之家 is at 峨曲古乡公路养护站
    (the sentence names the “暖心之家” itself)."""
    return station_name.strip().removesuffix("”").removesuffix("暖心之家").removesuffix("“").strip()


def _closing(f: Figures) -> list[str]:
    sent = sum(f.notify.sent_by_channel.values())
    if not sent:
        return []
    channels = _join(f.notify.sent_by_channel, CHANNEL_NAMES, "条")
    return [f"本期共向货车司机发送提醒和学习通知{sent}条（{channels}）。"]


_environment = Environment(
    loader=FunctionLoader(
        lambda name: resources.files("briefing").joinpath("templates", name).read_text("utf-8")
    ),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render(briefing: Briefing, fmt: str) -> str:
    """The briefing as `markdown` or `html`."""
    template = {"markdown": "briefing.md.j2", "html": "briefing.html.j2"}[fmt]
    return _environment.get_template(template).render(b=briefing)
