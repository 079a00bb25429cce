"""Online learning (离乡不离党、流动不流学) and knowledge tests: content categories, questions, quizzes
and their grading. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from roadbranch_shared.domain import DomainError

CATEGORIES = ("theory_policy", "road_safety", "laws_regulations", "other")
CATEGORY_LABELS = {
    "theory_policy": "理论政策",
    "road_safety": "道路安全",
    "laws_regulations": "法律法规",
    "other": "其他",
}
PURPOSES = ("knowledge_test", "make_up")


def check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise DomainError("category", "unknown_category", f"类别应为：{'、'.join(CATEGORIES)}", "invalid")


def check_question(options: Sequence[str], answer: int) -> None:
    if len(options) < 2:
        raise DomainError("options", "too_few", "至少两个选项", "invalid")
    if not 0 <= answer < len(options):
        raise DomainError("answer", "out_of_range", f"答案应为选项序号 0–{len(options) - 1}", "invalid")


@dataclass(frozen=True)
class Grade:
    correct: int
    total: int
    score: int  # percent, rounded down
    passed: bool


def grade(questions: Sequence[Mapping[str, Any]], answers: Sequence[int], pass_mark: int) -> Grade:
    """Score an attempt in percent; every question must be answered (an unanswered test is not graded)."""
    if len(answers) != len(questions):
        raise DomainError("answers", "wrong_count", f"应回答全部 {len(questions)} 道题", DomainError.INVALID)
    correct = sum(a == q["answer"] for a, q in zip(answers, questions, strict=True))
    score = correct * 100 // len(questions) if questions else 0
    return Grade(correct, len(questions), score, score >= pass_mark)


def without_answers(questions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What a test taker sees."""
    return [{"question_id": q["question_id"], "text": q["text"], "options": q["options"]} for q in questions]
