"""Report -> canonical JSON: a schema version, sorted keys, the same bytes for the same inputs.

The one place for run-specific data (a timestamp, the tool version) is the
``metadata`` object, and only what the caller passes in goes there. Lists
of targets, cells and facts are written one entry per line so that two
published reports diff readably.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from compat.facts import report_index, time_texts
from compat.model import Cell, Facts, Report, TargetInfo
from suites.behaviours import Behaviour
from suites.schema import Prop

JSON_SCHEMA_VERSION = 1

# Testcase properties already stated by a result's own keys or its cell's id.
REDUNDANT_PROPERTIES = frozenset(
    p.value
    for p in (
        Prop.HOP,
        Prop.VARIANT,
        Prop.SOURCE,
        Prop.MODE,
        Prop.DEVICE,
        Prop.STATUS,
        Prop.BEHAVIOURS,
        Prop.ERROR_TYPE,
        Prop.ERROR_MESSAGE,
        Prop.SIGNATURE,
    )
)


# One encoder for every value: json.dumps with options builds a new one per call.
_dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def target_data(t: TargetInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "version": str(t.version),
        "build": t.build,
        "torch_version": t.torch_version,
        "source_file": t.source_file,
        "properties": dict(t.properties),
        "registered_hops": list(t.registered_hops),
        "env_error": t.env_error,
    }


def behaviour_data(b: Behaviour) -> dict[str, Any]:
    return {
        "id": b.id,
        "hop": b.hop,
        "mode": b.mode,
        "sentence": b.sentence,
        "exception": b.exception,
        "message": b.message,
        "properties": dict(b.properties),
        "links": list(b.links),
        "expected": b.expected,
        "origin": b.origin,
    }


def extra_properties(properties: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The testcase properties a result states beyond its own keys and its cell id."""
    return {k: v for k, v in properties if k not in REDUNDANT_PROPERTIES}


def result_data(cell: Cell, extra: dict[str, str] | None = None) -> dict[str, Any]:
    """One cell in one target; keys without a value are left out."""
    # Status is a str enum: json writes it as its value.
    out: dict[str, Any] = {"target": cell.target, "status": cell.status, "time": cell.time}
    if cell.behaviours:
        out["behaviours"] = list(cell.behaviours)
    if cell.error_type is not None:
        out["error_type"] = cell.error_type
    if cell.message is not None:
        out["message"] = cell.message
    if cell.signature is not None:
        out["signature"] = cell.signature
    if extra is None:
        extra = extra_properties(cell.properties)
    if extra:
        out["properties"] = extra
    return out


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _row_lines(report: Report) -> Iterator[str]:
    """One object per cell id (its results in column order), as canonical JSON text.

    A big matrix has 500k results but few distinct ones apart from their target
    and time: each distinct result is encoded once, up to its last two keys in
    sorted order (target and time), each distinct time once, with the text that
    closes its result, and a row's results are joined in C-level passes.
    """
    index = report_index(report)
    heads = [_result_head(cell) for cell in index.results]
    targets = {t.id: _dumps(t.id) for t in report.targets}
    columns = [targets[t.id] for t in report.targets]
    # float's repr is json's, but for NaN and the infinities
    texts = time_texts(report)
    ends = {t: f',"time":{_NON_FINITE.get(text, text)}}},' for t, text in texts.items()}
    for cell_id in index.groups:
        if id(cell_id) in index.complete:
            names: Sequence[str] = columns
        else:
            names = [targets.get(t) or _dumps(t) for t in index.targets[id(cell_id)]]
        results = list(map(heads.__getitem__, index.result_of[id(cell_id)]))
        parts = [""] * (3 * len(results))
        parts[0::3] = results
        parts[1::3] = names
        parts[2::3] = map(ends.__getitem__, index.times[id(cell_id)])
        if parts:
            parts[-1] = parts[-1][:-1]  # no comma after the last result
        row = {
            "device": cell_id.device.value,
            "hop": cell_id.hop,
            "id": str(cell_id),
            "mode": cell_id.mode.value,
        }
        tail = {"source": cell_id.source.value, "variant": cell_id.variant}
        yield f'{_dumps(row)[:-1]},"results":[{"".join(parts)}],{_dumps(tail)[1:]}'


def _result_head(cell: Cell) -> str:
    """``result_data(cell)`` as JSON up to its ``"target":`` key (target and time sort last)."""
    data = result_data(cell)
    del data["target"], data["time"]
    return _dumps(data)[:-1] + ',"target":'


def facts_data(facts: Facts) -> dict[str, list[dict[str, Any]]]:
    return {
        "since": [{"cell": str(s.cell), "build": s.build, "since": s.since} for s in facts.since],
        "changes": [
            {
                "kind": c.kind.value,
                "build": c.build,
                "cell": str(c.cell),
                "before": c.before,
                "after": c.after,
                "before_status": c.before_status.value,
                "after_status": c.after_status.value,
            }
            for c in facts.changes
        ],
        "behaviours": [
            {
                "id": b.behaviour.id,
                "verdicts": [[t, v.value] for t, v in b.verdicts],
                "first_seen": b.first_seen,
                "last_seen": b.last_seen,
                "absent_since": b.absent_since,
                "still_present": b.still_present,
                "cells": list(b.cells),
            }
            for b in facts.behaviours
        ],
        "inventory": [
            {"hop": i.hop, "registered_in": list(i.registered_in), "covered": i.covered}
            for i in facts.inventory
        ],
        "signatures": [
            {"signature": s.signature, "count": s.count, "cells": list(s.cells)}
            for s in facts.signatures
        ],
    }


def _list(items: Iterable[object]) -> Iterator[str]:
    """A JSON array, one item per line, in pieces."""
    return _encoded(_dumps(item) for item in items)


def _encoded(items: Iterable[str]) -> Iterator[str]:
    """A JSON array of items already encoded, one per line, in pieces."""
    first = True
    for item in items:
        yield ("[\n" if first else ",\n") + item
        first = False
    yield "[]" if first else "\n]"


def _facts(facts: Facts) -> Iterator[str]:
    yield "{"
    for i, (key, items) in enumerate(sorted(facts_data(facts).items())):
        yield f'{"," if i else ""}\n"{key}":'
        yield from _list(items)
    yield "\n}"


def iter_json(report: Report, metadata: Mapping[str, str] | None = None) -> Iterator[str]:
    """The report as canonical JSON, in pieces (a line or so each), for streaming."""
    sections: list[tuple[str, Iterable[str]]] = [  # sorted by key, as sort_keys would be
        ("behaviours", _list(behaviour_data(b) for b in report.behaviours)),
        ("cells", _encoded(_row_lines(report))),
        ("facts", _facts(report.facts)),
        ("metadata", [_dumps(dict(metadata or {}))]),
        ("schema_version", [_dumps(JSON_SCHEMA_VERSION)]),
        (
            "skipped_inputs",
            _list({"path": s.path, "reason": s.reason} for s in report.skipped_inputs),
        ),
        ("targets", _list(target_data(t) for t in report.targets)),
    ]
    for i, (key, pieces) in enumerate(sections):
        yield f'{"{" if i == 0 else ","}\n"{key}":'
        yield from pieces
    yield "\n}\n"


def render_json(report: Report, metadata: Mapping[str, str] | None = None) -> str:
    """The report as canonical JSON; ``metadata`` is the only run-specific part."""
    return "".join(iter_json(report, metadata))
