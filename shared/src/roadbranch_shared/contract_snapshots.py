"""Snapshots of every event payload's JSON schema, and the diff that fails CI on a breaking change.

Run from the repo root, `python -m roadbranch_shared.contract_snapshots write|check [--dir DIR]`
keeps `contracts/events/<type>.json` in step with the models in `roadbranch_shared.contracts`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import roadbranch_shared.contracts  # noqa: F401  (registers every published event type)
from roadbranch_shared.events import registered_events

Schema = dict[str, Any]
Alternatives = list[tuple[str | None, Schema]]  # (name in $defs, resolved schema)

DEFAULT_DIR = Path("contracts/events")
REFRESH = "run `make contracts` (python -m roadbranch_shared.contract_snapshots write)"

# Raising a lower bound, lowering an upper bound or changing a pattern rejects values once valid.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_EXACT_BOUNDS = ("pattern", "multipleOf")
_ADDED_REQUIRED = "was added as required: events already in the log lack it"
_BECAME_REQUIRED = "became required: events already in the log may lack it"


def current_schemas() -> dict[str, Schema]:
    """Each project event type -> `{"type", "topic", "schema"}`, test-only types left out.

    The schema is pydantic's *serialization* mode: it describes the JSON producers put on the topic
    (`new_event` stores `model_dump(mode="json")`), which is what every consumer receives, whether
    it runs an older copy of the model or another language. Validation mode describes what the
    current class tolerates on input (a Decimal as number or string, validation aliases) and leaves
    out computed fields, so a change in what is actually emitted could pass unseen. Fields with a
    default are not marked required in either mode, which is right for events: older events in the
    log lack a field added later.
    """
    return {
        spec.type: snapshot(spec.type, spec.topic.name, spec.model)
        for spec in registered_events("roadbranch.")
    }


def snapshot(event_type: str, topic: str, model: type[BaseModel]) -> Schema:
    """One event type's snapshot, exactly as it reads back from its file."""
    schema = model.model_json_schema(mode="serialization")
    wrapper = {"type": event_type, "topic": topic, "schema": schema}
    normalised: Schema = json.loads(json.dumps(wrapper))
    return normalised


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What in `new` (the current snapshot of one event type) breaks consumers of `old`."""
    event = new.get("type") or old.get("type")
    problems = []
    if old.get("topic") != new.get("topic"):
        problems.append(
            f"topic moved from {old.get('topic')!r} to {new.get('topic')!r}: "
            "consumers of the old topic stop receiving it"
        )
    diff = _Diff(old["schema"].get("$defs", {}), new["schema"].get("$defs", {}))
    diff.value("", old["schema"], new["schema"])
    return [f"{event}: {p}" for p in problems + diff.problems]


@dataclass
class Comparison:
    breaking: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # missing or changed without breaking anything


def compare(committed: dict[str, Schema], current: dict[str, Schema]) -> Comparison:
    result = Comparison()
    for name in sorted(committed.keys() - current.keys()):
        result.breaking.append(
            f"{name}: event type was removed; a type is retired only by publishing a new version alongside it"
        )
    for name, new in sorted(current.items()):
        old = committed.get(name)
        if old is None:
            result.stale.append(f"{name}: no snapshot yet")
            continue
        breaking = breaking_changes(old, new)
        result.breaking.extend(breaking)
        if not breaking and old != new:
            result.stale.append(f"{name}: schema changed")
    return result


def load_snapshots(directory: Path) -> dict[str, Schema]:
    snapshots: dict[str, Schema] = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("type") != path.stem:
            raise ValueError(f"{path}: expected a snapshot of type {path.stem!r}")
        snapshots[path.stem] = data
    return snapshots


def render(snapshot: Schema) -> str:
    return json.dumps(snapshot, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Diff:
    """Walks an old and a new schema side by side, collecting breaking differences."""

    def __init__(self, old_defs: dict[str, Schema], new_defs: dict[str, Schema]) -> None:
        self.old_defs, self.new_defs = old_defs, new_defs
        self.problems: list[str] = []
        self.seen: set[tuple[str | None, str | None]] = set()  # models being compared above

    def report(self, path: str, what: str) -> None:
        self.problems.append(f"field '{path}' {what}" if path else f"the payload {what}")

    def value(self, path: str, old: Schema, new: Schema) -> None:
        olds = _by_label(old, self.old_defs)
        news = _by_label(new, self.new_defs)
        gone = [label for label in olds if label not in news]
        came = [label for label in news if label not in olds]
        if (
            len(gone) == 1
            and len(came) == 1
            and _is_model(olds[gone[0]][0][1])
            and _is_model(news[came[0]][0][1])
        ):
            # A nested model whose class was renamed is the same type on the wire.
            probe = _Diff(self.old_defs, self.new_defs)
            probe.seen = set(self.seen)
            probe.alternative(path, olds[gone[0]], news[came[0]])
            if not probe.problems:
                news[gone[0]] = news.pop(came[0])
                gone = came = []
        if gone or came:
            self.report(path, f"changed type from {_describe(olds)} to {_describe(news)}")
            return
        for label, alts in olds.items():
            self.alternative(path, alts, news[label])

    def alternative(self, path: str, olds: Alternatives, news: Alternatives) -> None:
        self.allowed_values(path, _allowed(s for _, s in olds), _allowed(s for _, s in news))
        (old_name, old), (new_name, new) = olds[0], news[0]
        self.bounds(path, old, new)
        if old.get("type") == "array":
            self.value(f"{path}[]", old.get("items", {}), new.get("items", {}))
        elif old.get("type") == "object" or "properties" in old:
            pair = (old_name, new_name)
            if pair in self.seen:
                return  # a recursive model, already being compared further up
            if old_name is not None or new_name is not None:
                self.seen.add(pair)
            self.object(path, old, new)
            self.seen.discard(pair)

    def object(self, path: str, old: Schema, new: Schema) -> None:
        prefix = f"{path}." if path else ""
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        added = [name for name in new_props if name not in old_props]
        for name in old_props:
            if name not in new_props:
                twins = [a for a in added if _shape(new_props[a]) == _shape(old_props[name])]
                hint = f" (renamed to '{prefix}{twins[0]}'?)" if len(twins) == 1 else ""
                self.report(prefix + name, "was removed" + hint)
        for name in added:
            if name in new_required:
                self.report(prefix + name, _ADDED_REQUIRED)
        for name, old_prop in old_props.items():
            if name in new_props:
                if name in new_required and name not in old_required:
                    self.report(prefix + name, _BECAME_REQUIRED)
                self.value(prefix + name, old_prop, new_props[name])
        self.additional_properties(path, old, new)

    def additional_properties(self, path: str, old: Schema, new: Schema) -> None:
        before = old.get("additionalProperties", True)
        after = new.get("additionalProperties", True)
        if after is False and before is not False:
            self.report(path, "no longer allows additional properties")
        elif isinstance(after, dict) and before is True:
            self.report(path, "restricted its additional properties to a schema")
        elif isinstance(after, dict) and isinstance(before, dict):
            self.value(f"{path}{{}}", before, after)

    def allowed_values(self, path: str, old: set[str] | None, new: set[str] | None) -> None:
        if new is None:
            return
        if old is None:
            self.report(path, f"was restricted to the values {_values(new)}")
        elif old - new:
            self.report(path, f"no longer allows the values {_values(old - new)}")
        elif new - old:
            # Consumers validating with the old closed enum reject the new values; hence the rule
            # that an enum a consumer reads is a str with known constants.
            self.report(path, f"is a closed enum that now also allows {_values(new - old)}")

    def bounds(self, path: str, old: Schema, new: Schema) -> None:
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS, *_EXACT_BOUNDS):
            before, after = old.get(key), new.get(key)
            if after is None or after == before:
                continue
            loosened = before is not None and (
                (key in _LOWER_BOUNDS and after < before) or (key in _UPPER_BOUNDS and after > before)
            )
            if not loosened:
                self.report(path, f"was tightened: {key} {before!r} -> {after!r}")


def _alternatives(schema: Schema) -> list[Schema]:
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [alt for sub in schema[key] for alt in _alternatives(sub)]
    if len(schema.get("allOf", ())) == 1:
        return _alternatives(schema["allOf"][0])
    if isinstance(schema.get("type"), list):
        return [{**schema, "type": kind} for kind in schema["type"]]
    return [schema]


def _resolve(schema: Schema, defs: dict[str, Schema]) -> tuple[str | None, Schema]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return None, schema
    name = ref.removeprefix("#/$defs/")
    siblings = {k: v for k, v in schema.items() if k != "$ref"}
    _, target = _resolve(defs.get(name, {}), defs)
    return name, {**target, **siblings}


def _is_model(schema: Schema) -> bool:
    return "properties" in schema


def _label(name: str | None, schema: Schema) -> str:
    """The type one alternative stands for: a model's name, else the JSON type and format."""
    if name is not None and _is_model(schema):
        return name
    kind = schema.get("type")
    if kind is None:
        values = schema.get("enum", [schema["const"]] if "const" in schema else [])
        kinds = {type(v).__name__ for v in values}
        kind = kinds.pop() if len(kinds) == 1 else ("model" if _is_model(schema) else "any")
    return f"{kind}({schema['format']})" if "format" in schema else str(kind)


def _by_label(schema: Schema, defs: dict[str, Schema]) -> dict[str, Alternatives]:
    grouped: dict[str, Alternatives] = {}
    for alt in _alternatives(schema):
        name, resolved = _resolve(alt, defs)
        grouped.setdefault(_label(name, resolved), []).append((name, resolved))
    return grouped


def _describe(grouped: dict[str, Any]) -> str:
    return " | ".join(sorted(grouped)) or "nothing"


def _allowed(schemas: Iterable[Schema]) -> set[str] | None:
    """The values the alternatives allow (as JSON text), or None when any value of the type goes."""
    allowed: set[str] = set()
    for schema in schemas:
        if "const" in schema:
            allowed.add(json.dumps(schema["const"]))
        elif "enum" in schema:
            allowed.update(json.dumps(v) for v in schema["enum"])
        else:
            return None
    return allowed


def _values(values: set[str]) -> str:
    return ", ".join(sorted(values))


def _shape(schema: Schema) -> Schema:
    return {k: v for k, v in schema.items() if k not in ("title", "description")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m roadbranch_shared.contract_snapshots",
        description="Write or check the JSON schema snapshots of every event payload.",
    )
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help="snapshot directory, relative to the working directory (the repo root)",
    )
    parser.add_argument(
        "--allow-breaking",
        action="store_true",
        help="write even when the change breaks consumers (and drop snapshots of removed types)",
    )
    args = parser.parse_args(argv)
    directory: Path = args.dir
    try:
        committed = load_snapshots(directory)
    except (ValueError, OSError) as e:
        print(f"cannot read the snapshots: {e}", file=sys.stderr)
        return 2
    current = current_schemas()
    result = compare(committed, current)
    if args.command == "check":
        return _report_check(directory, result, len(current))
    if result.breaking and not args.allow_breaking:
        _print_list("refusing to write: breaking changes to published events:", result.breaking)
        print(
            "publish a new version of the type (.v2) instead; --allow-breaking overrides this",
            file=sys.stderr,
        )
        return 1
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, snapshot in current.items():
        path = directory / f"{name}.json"
        text = render(snapshot)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(name)
    for name in committed.keys() - current.keys():
        (directory / f"{name}.json").unlink()  # reachable only with --allow-breaking
    print(f"{len(current)} event contracts in {directory}; updated: {', '.join(written) or '-'}")
    return 0


def _report_check(directory: Path, result: Comparison, count: int) -> int:
    if result.breaking:
        _print_list(f"breaking changes against the snapshots in {directory}:", result.breaking)
        return 1
    if result.stale:
        _print_list(f"snapshot out of date (non-breaking additions): {REFRESH}", result.stale)
        return 1
    print(f"{count} event contracts match {directory}")
    return 0


def _print_list(headline: str, lines: list[str]) -> None:
    print(headline, file=sys.stderr)
    for line in lines:
        print(f"  - {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
