"""The Meigu pilot, played through the services' HTTP APIs with generated data.

`PilotPlan` holds the numbers of a pilot; `SEED_PLAN` is the county briefing's (64 drivers checked,
9 member drivers, a committee of 7 and a branch committee of 5, 3 instructors, 3 party lessons by the
committee secretary, 3 care campaigns visiting 9 member and 22 non-member drivers with 223 items and
3 problems solved). `Pilot.play()` does the work as county staff would — imports, cross-check,
verification, transfers, the organisation, meetings, learning, needs, a station and the campaigns —
and `expected_figures()` says what the briefing service must compute from the events. Nothing here
writes a figure: the briefing counts what the services published.

Everyone is synthetic: names from a fixed list with a serial, ID numbers with valid check digits on
birth dates in 1960-1990 and serials 800-999, phone numbers 1990000xxxx.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from roadbranch_shared import polling
from roadbranch_shared.contracts.welfare import CAMPAIGN_KINDS
from roadbranch_shared.pii import make_synthetic_id_number

SOURCES = ("freight_company", "freight_platform", "individual")
METHODS = ("field_visit", "phone_call", "group_meeting", "data_comparison")
SUBGROUPS = ("综合协调组", "党建指导组", "权益保障组", "宣传报道组", "后勤保障组")
ITEMS = (("gloves", "手套"), ("heatstroke_relief", "防暑降温用品"), ("epidemic_supplies", "防疫物资"))
CAMPAIGNS = tuple(CAMPAIGN_KINDS.items())  # (kind, title): 送温暖, 送健康, 送服务
SURNAMES = "阿吉曲沙吉伍马俄海木勒"
GIVEN = ("惹口", "拉者", "惹哈", "布哈", "尔古", "日杰", "石布", "阿果", "莫色", "约布")


@dataclass(frozen=True)
class PilotPlan:
    """The numbers of one pilot; every figure of the briefing follows from them."""

    drivers_by_source: dict[str, int]
    members: int  # member drivers among them (their records match in the cross-check)
    other_member_records: int  # records of members who are not on the driver lists
    committee_seats: int
    branch_seats: int
    co_leaders: int
    subgroups: int
    instructors: int
    party_lessons: int  # by the industry committee's secretary; the first at a repair shop
    theme_party_days: int  # with oath renewal
    content_pushes: int
    hotline_needs: int  # filed by phone and resolved, besides the problems solved on visits
    station_check_ins: int
    campaign_member_visits: int
    campaign_non_member_visits: int
    items: int
    problems: tuple[str, ...]  # need categories solved on the spot during the visits
    # (where: lesson | theme_day | visit, index of the member driver speaking, his words)
    quotes: tuple[tuple[str, str, str], ...] = ()

    @property
    def drivers(self) -> int:
        return sum(self.drivers_by_source.values())


SEED_QUOTES = (
    (
        "lesson",
        "0",
        "第一次在修理厂上党课，很新颖，仪式感也很强！以前是土路，现在是宽敞明亮的沥青路，比以前好跑多了！",
    ),
    (
        "theme_day",
        "1",
        "今天的重温入党誓词，震撼了我的内心，让我再次热血澎湃，就像第一次站在党旗下宣誓一样！",
    ),
    ("lesson", "2", "以前从县城到候播乃拖需要3个半小时，现在只需要1个多小时啦！"),
    ("visit", "3", "感谢组织！不管车轮到哪里，我都会铭记自己是一名党员，带头遵守交通规则。"),
)

SEED_PLAN = PilotPlan(
    drivers_by_source={"freight_company": 21, "freight_platform": 25, "individual": 18},
    members=9,
    other_member_records=6,
    committee_seats=7,
    branch_seats=5,
    co_leaders=2,
    subgroups=5,
    instructors=3,
    party_lessons=3,
    theme_party_days=1,
    content_pushes=3,
    hotline_needs=2,
    station_check_ins=6,
    campaign_member_visits=9,
    campaign_non_member_visits=22,
    items=223,
    problems=("certificate_review", "certificate_review", "medical"),
    quotes=SEED_QUOTES,
)


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str


# The warm-heart station of the briefing, at the road maintenance station of 峨曲古乡 on S208.
SEED_STATION: dict[str, Any] = {
    "name": "峨曲古乡公路养护站暖心之家",
    "road": "S208",
    "km_marker": 112.5,
    "latitude": 28.33,
    "longitude": 103.13,
    "operator_contact": "养护站值班室",
    "hours": {"open_all_day": True},
    "amenities": {
        "rest_room": True,
        "drinking_water": True,
        "hot_water": True,
        "beds": 4,
        "parking_spaces": 10,
    },
}


def synthetic_people(count: int, *, offset: int = 0) -> list[Person]:
    people = []
    for i in range(offset, offset + count):
        name = f"{SURNAMES[i % len(SURNAMES)]}{GIVEN[(i // len(SURNAMES)) % len(GIVEN)]}{i:03d}"
        birth = date(1960 + i % 31, 1 + i % 12, 1 + i % 28)
        people.append(
            Person(name, make_synthetic_id_number("513436", birth, 800 + i % 200), f"1990000{i:04d}")
        )
    return people


class TokenBook:
    """The token table every service reads from one file (re-read when it changes): staff roles at
    the start, drivers and scoped roles as the pilot creates them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.table: dict[str, dict[str, Any]] = {}
        self.by_name: dict[str, str] = {}

    def add(self, name: str, role: str, subject: str, **scope: str) -> str:
        token = secrets.token_urlsafe(24)
        self.table[token] = {"subject": subject, "role": role, **scope}
        self.by_name[name] = token
        return token

    def save(self) -> None:
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(self.table), encoding="utf-8")
        partial.replace(self.path)  # atomic: a service never reads half a table


class Api:
    """One service's HTTP API, called as one of the pilot's people."""

    def __init__(self, name: str, url: str, tokens: TokenBook) -> None:
        self.name = name
        self.url = url
        self.tokens = tokens
        self.http = httpx.Client(base_url=url, timeout=120)

    def call(self, method: str, path: str, as_: str, **kwargs: Any) -> Any:
        token = self.tokens.by_name[as_]
        for _ in range(50):  # a token just added reaches the service within its re-read interval
            response = self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
            if response.status_code != 401:
                break
            time.sleep(0.1)
        if not response.is_success:
            raise RuntimeError(
                f"{self.name}: {method} {path} as {as_}: {response.status_code} {response.text}"
            )
        return response.json()

    def get_if_known(self, path: str, as_: str) -> Any:
        """GET `path`, or None while the service answers 404 (it has not heard of it from the events yet)."""
        try:
            return self.call("GET", path, as_)
        except RuntimeError as e:
            if ": 404 " in str(e):
                return None
            raise


def wait_until(check: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    return polling.wait_until(check, what, timeout=timeout, interval=0.3, error=RuntimeError)


@dataclass
class Pilot:
    plan: PilotPlan
    urls: dict[str, str]
    tokens_file: Path
    progress: Callable[[str], None] = print
    state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tokens = TokenBook(self.tokens_file)
        for name, role in (
            ("staff", "work_group_staff"),
            ("org", "org_department"),
            ("officer", "welfare_officer"),
            ("operator", "operator"),
        ):
            self.tokens.add(name, role, f"{name}-1")
        self.tokens.save()
        self.api = {name: Api(name, url, self.tokens) for name, url in self.urls.items()}

    # --- 找出来 ---------------------------------------------------------------------------------

    def find(self) -> None:
        plan, roster = self.plan, self.api["roster"]
        people = synthetic_people(plan.drivers)
        self.state["people"] = people
        start = 0
        for source in SOURCES:
            count = plan.drivers_by_source.get(source, 0)
            if not count:
                continue
            rows = ["姓名,身份证号,手机号"] + [
                f"{p.name},{p.id_number},{p.phone}" for p in people[start : start + count]
            ]
            batch = self._upload(
                "/v1/driver-imports",
                rows,
                data={"source": source, "legal_basis": "履行法定职责（货车司机党建试点摸底排查）"},
            )
            self.progress(f"imported {count} drivers from {source} ({batch['status']})")
            start += count
        # The organisation department's member records: 9 of them are drivers on the lists.
        members = people[: plan.members]
        others = synthetic_people(plan.other_member_records, offset=500)
        rows = ["姓名,身份证号,所在支部,入党时间,党员状态"] + [
            f"{p.name},{p.id_number},县交通运输局机关支部,2005-07-01,正式党员" for p in members + others
        ]
        check = self._upload("/v1/member-checks", rows, as_="org")
        found, records = check.get("candidates_found", "?"), len(rows) - 1
        self.progress(f"cross-check: {found} of {records} member records match a driver")
        cases = wait_until(
            lambda: (
                len(c := roster.call("GET", "/v1/members?status=candidate", "staff")["members"])
                == plan.members
                and c
            ),
            "the verification cases",
        )
        verified = []
        for i, case in enumerate(sorted(cases, key=lambda c: c["member_id"])):
            member_id = case["member_id"]
            method = METHODS[i % len(METHODS)]
            roster.call(
                "POST",
                f"/v1/members/{member_id}/attempts",
                "staff",
                json={"method": method, "outcome": "confirmed"},
            )
            roster.call("POST", f"/v1/members/{member_id}/decision", "staff", json={"decision": "verified"})
            verified.append(case)
        self.state["member_ids"] = [c["member_id"] for c in verified]
        self.state["member_drivers"] = [c["driver_id"] for c in verified]
        drivers: list[str] = []
        after = ""
        while page := roster.call("GET", f"/v1/drivers?limit=1000&after={after}", "staff")["drivers"]:
            drivers += [d["driver_id"] for d in page]
            after = page[-1]["driver_id"]
        self.state["drivers"] = drivers
        self.progress(f"verified {len(verified)} member drivers (查身份、核信息)")

    def _upload(
        self, path: str, rows: list[str], *, as_: str = "staff", data: dict[str, str] | None = None
    ) -> Any:
        files = {"file": ("list.csv", "\n".join(rows).encode())}
        result = self.api["roster"].call("POST", path, as_, files=files, data=data or {})
        if path == "/v1/driver-imports":
            batch_id = result["batch_id"]
            result = wait_until(
                lambda: (
                    (b := self.api["roster"].call("GET", f"{path}/{batch_id}", "staff"))["status"]
                    != "running"
                    and b
                ),
                "the import",
            )
        return result

    # --- 联起来 ---------------------------------------------------------------------------------

    def connect(self) -> None:
        plan, roster = self.plan, self.api["roster"]
        term = {"term_start": "2026-01-01", "term_end": "2030-12-31"}

        def org(kind: str, name: str, parent: str | None = None) -> str:
            body = {"kind": kind, "name": name, "parent_id": parent}
            return str(roster.call("POST", "/v1/organisations", "staff", json=body)["organisation_id"])

        def seats(org_id: str, people: list[tuple[str, str]]) -> None:
            for role, person in people:
                body = {"role": role, "person_id": person, **term}
                roster.call("POST", f"/v1/organisations/{org_id}/seats", "staff", json=body)

        work_group = org("work_group", "货车司机群体党建试点工作专班")
        seats(work_group, [("co_leader", f"staff-co-leader-{i}") for i in range(plan.co_leaders)])
        for name in SUBGROUPS[: plan.subgroups]:
            org("work_subgroup", name, work_group)
        committee = org("industry_committee", "县交通运输行业党委")
        secretary = "staff-committee-secretary"
        seats(
            committee,
            [("secretary", secretary)]
            + [("member", f"staff-committee-{i}") for i in range(1, plan.committee_seats)],
        )
        branch = org("branch", "县个体货车司机流动党员党支部", committee)
        branch_people = [f"staff-branch-{i}" for i in range(plan.branch_seats)]
        seats(branch, [("secretary", branch_people[0])] + [("member", p) for p in branch_people[1:]])
        self.state.update(
            committee=committee, branch=branch, secretary=secretary, branch_people=branch_people
        )
        today = date.today().isoformat()
        for member_id in self.state["member_ids"]:
            transfer = roster.call(
                "POST",
                f"/v1/members/{member_id}/transfers",
                "staff",
                json={
                    "letter_number": f"介{member_id[-6:]}",
                    "from_organisation": "原籍村党支部",
                    "requested_on": today,
                },
            )
            roster.call(
                "POST",
                f"/v1/members/{member_id}/transfers/{transfer['transfer_id']}/accept",
                "staff",
                json={"accepted_on": today, "branch_id": branch},
            )  # accepting the transfer places him in the branch
        # N+1: the branch committee members share the member drivers out.
        for i, person in enumerate(branch_people):
            paired = self.state["member_ids"][i :: len(branch_people)]
            if paired:
                body = {"committee_person_id": person, "member_ids": paired}
                roster.call("POST", f"/v1/organisations/{branch}/pairings", "staff", json=body)
        self.tokens.add("secretary", "branch_secretary", branch_people[0], org_scope=branch)
        self.tokens.save()
        self.progress(
            f"organisation: committee of {plan.committee_seats}, branch committee of {plan.branch_seats}, "
            f"work group with {plan.co_leaders} co-leaders and {plan.subgroups} sub-groups; "
            f"{len(self.state['member_ids'])} members brought home (回家) and paired"
        )

    # --- 聚起来 ---------------------------------------------------------------------------------

    def add_driver_tokens(self) -> None:
        for driver_id in self.state["drivers"]:
            self.tokens.add(driver_id, "driver", f"driver-{driver_id}", driver_id=driver_id)
        self.tokens.save()

    def gather(self) -> None:  # noqa: C901
        plan, acts = self.plan, self.api["activities"]
        branch, committee, secretary = self.state["branch"], self.state["committee"], self.state["secretary"]
        instructors = [f"staff-instructor-{i}" for i in range(plan.instructors)]
        venue = acts.call(
            "POST",
            "/v1/venues",
            "staff",
            json={
                "name": "公路养护中心党员货车司机活动室",
                "venue_kind": "activity_room",
                "instructor_ids": instructors,
            },
        )["venue_id"]
        for i, person in enumerate(instructors):
            self.tokens.add(f"instructor-{i}", "instructor", person)
        self.tokens.save()
        # Activities learns the branch and its members from the roster's events.
        members = set(self.state["member_drivers"])
        wait_until(
            lambda: (
                set(
                    (acts.get_if_known(f"/v1/organisations/{branch}", "staff") or {}).get(
                        "member_driver_ids", []
                    )
                )
                >= members
            ),
            "activities to know the branch's members",
        )
        quotes = list(plan.quotes)

        def meeting(kind: str, topic: str, days: int, venue: dict[str, str], **extra: Any) -> str:
            body = {
                "organisation_id": extra.pop("organisation_id", branch),
                "kind": kind,
                "topic": topic,
                "starts_at": days_ago(days).isoformat(),
                "mode": "hybrid",
                **venue,
                **extra,
            }
            return str(acts.call("POST", "/v1/meetings", "staff", json=body)["meeting_id"])

        def hold(meeting_id: str, quote_kind: str, summary: str) -> None:
            invitees = acts.call("GET", f"/v1/meetings/{meeting_id}", "staff")["invitees"]
            records = []
            for n, person in enumerate(invitees):
                if n == len(invitees) - 1 and len(invitees) > 3:
                    records.append({"person_id": person, "status": "leave", "reason": "长途运输在外"})
                elif n % 4 == 3:
                    records.append({"person_id": person, "status": "online"})
                else:
                    records.append({"person_id": person, "status": "on_site"})
            acts.call("PUT", f"/v1/meetings/{meeting_id}/attendance", "staff", json={"records": records})
            acts.call("POST", f"/v1/meetings/{meeting_id}/hold", "staff", json={"summary": summary})
            for quote in [q for q in quotes if q[0] == quote_kind][:1]:
                quotes.remove(quote)
                speaker = self.state["member_drivers"][int(quote[1]) % len(self.state["member_drivers"])]
                body = {"speaker_id": speaker, "text": quote[2], "consent": True}
                acts.call("POST", f"/v1/meetings/{meeting_id}/quotes", "staff", json=body)

        room = {"venue_kind": "activity_room", "venue_id": venue}
        for n in range(plan.party_lessons):
            venue = {"venue_kind": "repair_shop", "venue_name": "俄普修理厂"} if n == 0 else room
            lesson = meeting(
                "party_lesson",
                "感党恩、听党话、跟党走：身边的先进事迹",
                40 - 10 * n,
                venue,
                host_id=secretary,
            )
            hold(lesson, "lesson", "行业党委书记讲授党课，引导货车司机文明驾驶、安全出行")
        for n in range(plan.theme_party_days):
            day = meeting("theme_party_day", "重温入党誓词", 12 - n, room, oath_renewal=True)
            hold(day, "theme_day", "流动党员主题党日，重温入党誓词")
        self.progress(
            f"{plan.party_lessons} party lessons by the committee secretary (one at a repair shop), "
            f"{plan.theme_party_days} theme party day(s) with oath renewal, at the activity room with "
            f"{plan.instructors} instructors"
        )

        # The training class for party-affairs workers, with a knowledge test for every committee member.
        training = meeting(
            "training_class", "党务工作者培训班：集中学习、实操情景模拟", 30, room, organisation_id=committee
        )
        questions = [
            acts.call("POST", "/v1/questions", "staff", json=q)["question_id"]
            for q in (
                {
                    "category": "theory_policy",
                    "text": "“三会一课”包括党课。",
                    "options": ["对", "错"],
                    "answer": 0,
                },
                {
                    "category": "theory_policy",
                    "text": "支部委员会应每月召开一次。",
                    "options": ["对", "错"],
                    "answer": 0,
                },
            )
        ]
        quiz = acts.call(
            "POST",
            "/v1/quizzes",
            "staff",
            json={
                "meeting_id": training,
                "title": "党务知识测验",
                "purpose": "knowledge_test",
                "pass_mark": 60,
                "question_ids": questions,
            },
        )
        seats = acts.call("GET", f"/v1/meetings/{training}", "staff")["invitees"]
        for person in seats:
            acts.call(
                "POST",
                f"/v1/quizzes/{quiz['quiz_id']}/attempts",
                "staff",
                json={"answers": [0, 0], "person_id": person},
            )
        acts.call(
            "PUT",
            f"/v1/meetings/{training}/attendance",
            "staff",
            json={"records": [{"person_id": p, "status": "on_site"} for p in seats]},
        )
        acts.call("POST", f"/v1/meetings/{training}/hold", "staff", json={"summary": "党务工作者培训班结业"})
        self.progress(f"training class: {len(seats)} committee members passed the knowledge test")

        # Online learning: the branch's WeChat group pushes (离乡不离党、流动不流学), read by the drivers.
        categories = ("theory_policy", "road_safety", "laws_regulations")
        for n in range(plan.content_pushes):
            item = acts.call(
                "POST",
                "/v1/contents",
                "staff",
                json={
                    "organisation_id": branch,
                    "category": categories[n % 3],
                    "title": f"第{n + 1}期学习内容",
                    "body": "……",
                },
            )
            for reader in self.state["member_drivers"][: len(self.state["member_drivers"]) - n]:
                acts.call(
                    "POST", f"/v1/contents/{item['content_id']}/reads", reader, json={"confirmed": True}
                )
        self.progress(f"{plan.content_pushes} learning items pushed to the branch and read by its drivers")

    # --- 暖起来 ---------------------------------------------------------------------------------

    def warm(self) -> None:
        plan, welfare = self.plan, self.api["welfare"]
        members = list(self.state["member_drivers"])
        non_members = [d for d in self.state["drivers"] if d not in set(members)]
        for driver in self.state["drivers"]:
            wait_until(
                lambda d=driver: (
                    welfare.call("GET", f"/v1/drivers/{d}", "staff").get("member") == (d in members)
                ),
                "welfare to know the drivers",
            )
        station = welfare.call(
            "POST",
            "/v1/stations",
            "officer",
            json=SEED_STATION,
        )["station_id"]
        self.state["station"] = station
        self.tokens.add("station", "station_staff", "staff-station-1", org_scope=station)
        self.tokens.save()
        for driver in non_members[: plan.station_check_ins]:
            welfare.call("POST", f"/v1/stations/{station}/check-ins", "station", json={"driver_id": driver})
            welfare.call("POST", f"/v1/stations/{station}/check-outs", "station", json={"driver_id": driver})

        def solve(driver: str, category: str, words: str, summary: str) -> str:
            need = welfare.call(
                "POST",
                "/v1/needs",
                "officer",
                json={"driver_id": driver, "category": category, "description": words},
            )
            need_id = need["need_id"]
            suggestions = welfare.call("GET", f"/v1/needs/{need_id}/suggestions", "officer")["resources"]
            if suggestions:
                welfare.call(
                    "POST",
                    f"/v1/needs/{need_id}/match",
                    "officer",
                    json={"resource_ids": [suggestions[0]["resource_id"]]},
                )
            welfare.call("POST", f"/v1/needs/{need_id}/assign", "officer", json={"handler_id": "officer-1"})
            welfare.call("POST", f"/v1/needs/{need_id}/resolve", "officer", json={"summary": summary})
            welfare.call("POST", f"/v1/needs/{need_id}/rating", driver, json={"rating": 5})
            return str(need_id)

        for n in range(plan.hotline_needs):
            solve(non_members[-1 - n], "parking_rest", "夜间找不到安全停车休息的地方", "推荐暖心之家停车休息")

        visited = members[: plan.campaign_member_visits] + non_members[: plan.campaign_non_member_visits]
        per_campaign = [visited[i :: len(CAMPAIGNS)] for i in range(len(CAMPAIGNS))]
        quantities = [
            plan.items // len(visited) + (1 if i < plan.items % len(visited) else 0)
            for i in range(len(visited))
        ]
        amount = dict(zip(visited, quantities, strict=True))
        problems = dict(
            zip(visited[:: max(1, len(visited) // max(1, len(plan.problems)))], plan.problems, strict=False)
        )
        words = {
            members[int(index) % len(members)]: text for where, index, text in plan.quotes if where == "visit"
        }
        for (kind, title), (item, label), drivers in zip(CAMPAIGNS, ITEMS, per_campaign, strict=True):
            campaign = welfare.call(
                "POST",
                "/v1/campaigns",
                "officer",
                json={
                    "kind": kind,
                    "title": title,
                    "organiser_id": "org_work_group",
                    "starts_on": days_ago(60).date().isoformat(),
                    "ends_on": date.today().isoformat(),
                },
            )["campaign_id"]
            welfare.call(
                "POST",
                f"/v1/campaigns/{campaign}/stock",
                "officer",
                json={"item": item, "quantity": sum(amount[d] for d in drivers), "label": label},
            )
            for driver in drivers:
                solved = []
                if driver in problems:
                    solved = [solve(driver, problems[driver], "走访中提出的困难", "现场帮助咨询办理")]
                welfare.call(
                    "POST",
                    f"/v1/campaigns/{campaign}/visits",
                    "officer",
                    json={
                        "driver_id": driver,
                        "visitor_ids": ["officer-1"],
                        "items": {item: amount[driver]},
                        "solved_need_ids": solved,
                        **({"words": {"text": words[driver], "consent": True}} if driver in words else {}),
                    },
                )
            welfare.call("POST", f"/v1/campaigns/{campaign}/close", "officer")
        self.progress(
            f"{len(CAMPAIGNS)} care campaigns: {plan.campaign_member_visits} member and "
            f"{plan.campaign_non_member_visits} non-member drivers visited, {plan.items} items, "
            f"{len(plan.problems)} problems solved; {plan.station_check_ins} stays at the warm-heart station"
        )

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("找出来", self.find),
            ("联起来", self.connect),
            ("聚起来", self.gather),
            ("暖起来", self.warm),
        ]

    def play(self) -> None:
        for title, step in self.steps():
            self.progress(f"— {title}")
            step()
            if step == self.find:
                self.add_driver_tokens()

    # --- what the briefing must say ---------------------------------------------------------------

    def expected_figures(self) -> dict[str, dict[str, Any]]:
        """The briefing service's figures this pilot must produce, derived from the plan alone."""
        plan = self.plan
        return {
            "find": {
                "drivers_checked": plan.drivers,
                "drivers_by_source": {k: v for k, v in sorted(plan.drivers_by_source.items()) if v},
                "candidates_found": plan.members,
                "members_verified": plan.members,
                "ledger_files": plan.members,
                "members_brought_home": plan.members,
            },
            "connect": {
                "industry_committees": 1,
                "industry_committee_members": plan.committee_seats,
                "branches": 1,
                "branch_committee_members": plan.branch_seats,
                "work_group_co_leaders": plan.co_leaders,
                "work_subgroups": plan.subgroups,
                "pairings": min(plan.branch_seats, plan.members),
                "members_paired": plan.members,
            },
            "gather": {
                "party_lessons": plan.party_lessons,
                "party_lessons_by_committee_secretary": plan.party_lessons,
                "lessons_at_repair_shops": 1 if plan.party_lessons else 0,
                "theme_party_days": plan.theme_party_days,
                "oath_renewals": plan.theme_party_days,
                "training_classes": 1,
                "committee_members": plan.committee_seats + plan.branch_seats,
                "trained_committee_members": plan.committee_seats + plan.branch_seats,
                "content_pushes": plan.content_pushes,
                "activity_rooms": 1,
                "instructors_stationed": plan.instructors,
            },
            "warm": {
                "stations": 1,
                "check_ins": plan.station_check_ins,
                "campaigns": len(CAMPAIGNS),
                "members_visited": plan.campaign_member_visits,
                "non_members_visited": plan.campaign_non_member_visits,
                "items_handed_out": plan.items,
                "problems_solved": len(plan.problems),
                "needs_filed": plan.hotline_needs + len(plan.problems),
                "needs_resolved": plan.hotline_needs + len(plan.problems),
            },
        }


def differences(expected: dict[str, dict[str, Any]], figures: dict[str, Any]) -> list[str]:
    """Every expected figure the briefing service does not (yet) state."""
    return [
        f"{part}.{name}: expected {value!r}, briefing says {figures.get(part, {}).get(name)!r}"
        for part, values in expected.items()
        for name, value in values.items()
        if figures.get(part, {}).get(name) != value
    ]


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def days_ago(n: int) -> datetime:
    return now() - timedelta(days=n)


SERVICES = ("identity", "roster", "activities", "welfare", "notify", "briefing")
DEMO_ADMIN = ("admin", "Guanli-meigu-2026")
# One demo account per staff role: username, display name, role, the organisation it acts for.
DEMO_STAFF = (
    ("zhuanban", "试点工作专班（演示）", "work_group_staff", None),
    ("zuzhibu", "县委组织部（演示）", "org_department", None),
    ("quanyi", "权益保障组（演示）", "welfare_officer", None),
    ("zhidaoyuan", "指导员（演示）", "instructor", None),
    ("yunwei", "运维人员（演示）", "operator", None),
)
DEMO_PASSWORD = "Daolu-meigu-2026"
DEMO_SECRETARY = "shuji"  # the mobile branch's secretary, scoped to the branch the pilot made
DEMO_STATION_STAFF = "yizhan"  # the warm-heart station's staff, scoped to the station the pilot opened


class SmsSink:
    """The demo's SMS provider: `POST /v1/messages` as the real one takes it, each message appended
    to a file (the number masked) instead of reaching a phone. The demo driver's code is read there."""

    API_KEY = "demo-sms-key"

    def __init__(self, path: Path) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.path = path
        self.messages: list[dict[str, str]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                ok = self.headers.get("Authorization") == f"Bearer {SmsSink.API_KEY}" and "to" in body
                if ok:
                    sink.messages.append({"to": body["to"], "text": body.get("text", "")})
                    with sink.path.open("a", encoding="utf-8") as out:
                        masked = body["to"][:3] + "****" + body["to"][-4:]
                        out.write(f"{datetime.now(UTC):%H:%M:%S} {masked} {body.get('text', '')}\n")
                data = json.dumps({"message_id": f"m{len(sink.messages)}"} if ok else {"error": {}}).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def codes_to(self, phone: str) -> list[str]:
        found = []
        for message in self.messages:
            if message["to"] == phone:
                found += [
                    w for w in message["text"].replace("，", " ").split() if w.isdigit() and len(w) == 6
                ]
        return found

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PilotServices:
    """The six services as local processes on a running stack. The pilot's scripted steps call with
    tokens from one token file (machine callers); people sign in with identity, whose tokens every
    service verifies (ROADBRANCH_AUTH_*)."""

    def __init__(
        self,
        stack_info: Any,
        run_dir: Path,
        *,
        suffix: str = "",
        county: str = "meigu",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        from roadbranch_shared.devstack.services import ServiceProcess
        from roadbranch_shared.pii import generate_key

        self.tokens_file = run_dir / "tokens.json"
        self.tokens_file.write_text("{}", encoding="utf-8")
        self.sms = SmsSink(run_dir / "sms.log")
        pii = {f"ROADBRANCH_PII_{k}": generate_key() for k in ("BLIND_INDEX_KEY", "ENCRYPTION_KEY")}
        # Every service that files things under a county files them under this one.
        counties = {
            "ROADBRANCH_ROSTER_DEFAULT_COUNTY": county,
            "ROADBRANCH_ACTIVITIES_COUNTY": county,
            "ROADBRANCH_WELFARE_COUNTY": county,
            "ROADBRANCH_BRIEFING_COUNTY": county,
        }
        notify = {
            "ROADBRANCH_NOTIFY_METRICS_INTERVAL_SECONDS": "1",
            # The pilot's months are played in a minute: quiet hours (22:00-07:00 in Beijing) would
            # hold its messages till morning whenever the demo runs at night.
            "ROADBRANCH_NOTIFY_QUIET_START": "00:00",
            "ROADBRANCH_NOTIFY_QUIET_END": "00:00",
        }
        identity = {
            "ROADBRANCH_IDENTITY_BOOTSTRAP_ADMIN_USERNAME": DEMO_ADMIN[0],
            "ROADBRANCH_IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": DEMO_ADMIN[1],
            "ROADBRANCH_IDENTITY_BOOTSTRAP_ADMIN_MUST_CHANGE": "false",
            "ROADBRANCH_IDENTITY_SMS_URL": self.sms.url,
            "ROADBRANCH_IDENTITY_SMS_API_KEY": SmsSink.API_KEY,
        }
        self.processes: dict[str, Any] = {}
        auth: dict[str, str] = {"ROADBRANCH_AUTH_ISSUER": f"roadbranch-identity{suffix}"}
        for name in SERVICES:
            prefix = f"ROADBRANCH_{name.upper()}_"
            env = {
                **stack_info.service_env(name),
                **pii,
                **counties,
                **notify,
                **identity,
                **auth,
                prefix + "TOKENS_FILE": str(self.tokens_file),
                prefix + "MONGO_DB": f"{name}{suffix}",
                prefix + "CONSUMER_GROUP": f"{name}{suffix}",
                prefix + "FIGURES_INTERVAL_SECONDS": "2",
                **(extra_env or {}),
            }
            self.processes[name] = ServiceProcess(
                f"{name}.main:create_app", env=env, log=run_dir / f"{name}.log"
            )
            if name == "identity":  # the others fetch its public keys
                auth["ROADBRANCH_AUTH_JWKS_URL"] = self.processes[name].url + "/.well-known/jwks.json"

    def start(self, progress: Callable[[str], None] = print) -> PilotServices:
        for name, process in self.processes.items():
            progress(f"starting {name} ...")
            process.start()
        return self

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        self.sms.stop()

    @property
    def urls(self) -> dict[str, str]:
        return {name: process.url for name, process in self.processes.items()}


class SignIn:
    """People signing in through identity, as the console and the driver app will."""

    def __init__(self, identity_url: str) -> None:
        self.http = httpx.Client(base_url=identity_url, timeout=60)

    def password(self, username: str, password: str, **extra: Any) -> dict[str, Any]:
        response = self.http.post("/v1/sessions", json={"username": username, "password": password, **extra})
        if response.status_code != 201:
            raise RuntimeError(f"sign-in refused: {response.status_code} {response.text}")
        grant: dict[str, Any] = response.json()
        return grant

    def demo_accounts(
        self, branch: str | None = None, station: str | None = None
    ) -> list[tuple[str, str, str]]:
        """One account per staff role (and the secretary of `branch`, the pilot's mobile branch, and
        the staff of `station`, the pilot's warm-heart station), each signed in once to set its
        password: (role, username, password)."""
        admin = self.password(*DEMO_ADMIN)["access_token"]
        made = [("administrator", *DEMO_ADMIN)]
        secretary = (DEMO_SECRETARY, "流动党员党支部书记（演示）", "branch_secretary", branch)
        station_staff = (DEMO_STATION_STAFF, "暖心之家驿站值班员（演示）", "station_staff", station)
        scoped = [*([secretary] if branch else []), *([station_staff] if station else [])]
        for username, display_name, role, scope in (*DEMO_STAFF, *scoped):
            created = self.http.post(
                "/v1/accounts",
                headers={"Authorization": f"Bearer {admin}"},
                json={
                    "username": username,
                    "display_name": display_name,
                    "roles": [role],
                    "org_scope": scope,
                },
            )
            if created.status_code == 409:  # made by an earlier run on the same database
                made.append((role, username, DEMO_PASSWORD))
                continue
            if created.status_code != 201:
                raise RuntimeError(f"account not created: {created.status_code} {created.text}")
            self.password(username, created.json()["temporary_password"], new_password=DEMO_PASSWORD)
            made.append((role, username, DEMO_PASSWORD))
        return made

    def driver(self, phone: str, sms: SmsSink, timeout: float = 60) -> dict[str, Any]:
        """A driver's sign-in by SMS code, the code read from the demo's SMS sink."""
        deadline = time.monotonic() + timeout
        while True:
            before = len(sms.codes_to(phone))
            asked = self.http.post("/v1/driver-codes", json={"phone": phone})
            if asked.status_code not in (202, 429):
                raise RuntimeError(f"code not asked: {asked.status_code} {asked.text}")
            for _ in range(30):
                if len(sms.codes_to(phone)) > before:
                    signed = self.http.post(
                        "/v1/driver-sessions", json={"phone": phone, "code": sms.codes_to(phone)[-1]}
                    )
                    if signed.status_code != 201:
                        raise RuntimeError(f"driver sign-in refused: {signed.status_code} {signed.text}")
                    grant: dict[str, Any] = signed.json()
                    return grant
                time.sleep(0.1)
            if time.monotonic() > deadline:
                raise RuntimeError("no sign-in code reached the demo driver's phone")
            time.sleep(float(asked.headers.get("Retry-After", "1")))


def metric_samples(url: str) -> dict[str, float]:
    """A service's unlabelled samples, and the labelled ones summed by name."""
    from prometheus_client.parser import text_string_to_metric_families

    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=30).text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def settle_notifications(
    pilot: Pilot, timeout: float = 120, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Wait until notify has sent everything due and published its delivery events, and the briefing's
    count of them holds still; the briefing's notification figures.

    How many messages the pilot causes depends on the daily cap's digests and on which meetings are
    still ahead, so unlike the plan's figures this one is awaited, not predicted."""
    notify, briefing = pilot.urls["notify"], pilot.api["briefing"]
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []  # the briefing's counts while notify was idle, in a row
    while time.monotonic() < deadline:
        samples = metric_samples(notify)
        idle = (
            samples.get("roadbranch_notify_oldest_pending_age_seconds", 1) == 0
            and samples.get("roadbranch_outbox_pending_events", 1) == 0
        )
        figures = briefing.call("GET", "/v1/figures", "staff", params={"period": "all"})["notify"]
        seen = [*seen, figures] if idle and (not seen or seen[-1] == figures) else ([figures] if idle else [])
        # Still over three looks (six seconds): a partition the briefing reads late would show by then.
        if len(seen) >= 3 and sum(figures["sent_by_channel"].values()):
            return dict(figures)
        progress(f"waiting for notify: {sum(figures['sent_by_channel'].values())} messages counted so far")
        time.sleep(3)
    raise RuntimeError(f"notify did not settle; the briefing counts {seen[-1] if seen else None}")


def settle(pilot: Pilot, timeout: float = 180, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Wait until the briefing service states every figure the plan implies; its figures."""
    briefing = pilot.api["briefing"]
    expected = pilot.expected_figures()
    deadline = time.monotonic() + timeout
    missing: list[str] = []
    while time.monotonic() < deadline:
        figures = briefing.call("GET", "/v1/figures", "staff", params={"period": "all"})
        missing = differences(expected, figures)
        if not missing:
            return dict(figures)
        progress(f"waiting for the events to settle: {len(missing)} figures to go")
        time.sleep(2)
    raise RuntimeError("the briefing's figures did not settle:\n  " + "\n  ".join(missing))
