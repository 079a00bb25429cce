"""Passwords: the policy a new one must meet, argon2id hashes (argon2-cffi), temporary passwords.

The policy follows what a county's staff can keep: at least 10 characters, letters and digits (or
other characters) mixed, not the username, not a well-known password, not one character repeated.
A check names every reason, so a form can say what to change.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 128
# The most used passwords (and their shapes) that pass the length and mix rules.
COMMON = frozenset(
    {
        "password123",
        "password1234",
        "qwerty123456",
        "abc123456789",
        "1qaz2wsx3edc",
        "qwertyuiop123",
        "woaini1314520",
        "a1234567890",
        "admin123456",
        "admin12345678",
        "p@ssw0rd123",
        "passw0rd123",
        "zxcvbnm12345",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "roadbranch123",
        "roadbranch2026",
    }
)

# Interactive sign-in cost: about 50 ms and 64 MiB on one core of a small server.
HASHER = PasswordHasher(time_cost=2, memory_cost=65536, parallelism=1)
# A hash to verify against when the username names no account, so both take as long.
_DECOY = HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class PolicyProblem:
    reason: str
    message: str


def policy_problems(password: str, *, username: str = "") -> list[PolicyProblem]:
    """What is wrong with `password` as a new password; empty when it may be used."""
    problems: list[PolicyProblem] = []
    if len(password) < MIN_LENGTH:
        problems.append(PolicyProblem("too_short", f"密码至少 {MIN_LENGTH} 位。"))
    if len(password) > MAX_LENGTH:
        problems.append(PolicyProblem("too_long", f"密码最多 {MAX_LENGTH} 位。"))
    has_letter = any(c.isalpha() for c in password)
    has_other = any(not c.isalpha() for c in password)
    if not (has_letter and has_other):
        problems.append(PolicyProblem("too_simple", "密码须同时包含字母和数字（或符号）。"))
    if len(set(password)) <= 3:
        problems.append(PolicyProblem("too_simple", "密码不能只由一两个字符重复组成。"))
    lowered = password.lower()
    if username and username.lower() in lowered:
        problems.append(PolicyProblem("contains_username", "密码不能包含用户名。"))
    if lowered in COMMON:
        problems.append(PolicyProblem("common", "这是常见密码，容易被猜中，请换一个。"))
    # One problem per reason: "too_simple" twice says nothing more.
    unique: dict[str, PolicyProblem] = {}
    for problem in problems:
        unique.setdefault(problem.reason, problem)
    return list(unique.values())


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if `password` is the one hashed; a missing hash is checked against a decoy, in the same
    time."""
    try:
        return HASHER.verify(stored_hash or _DECOY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)


_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


def temporary_password() -> str:
    """A password an administrator hands over once (12 characters without look-alikes); the
    account must replace it at its first sign-in."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        if not policy_problems(candidate):
            return candidate
