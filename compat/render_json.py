"""Report -> canonical JSON: a schema version, sorted keys, the same bytes for the same inputs.

The one place for run-specific data (a timestamp, the tool version) is the
``metadata`` object, and only what the caller passes in goes there. Lists
of targets, cells and facts are written one entry per line so that two
published reports diff readably.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from compat.facts import expected_reason
from compat.layout import cut
from compat.model import Cell, ClaimRow, Facts, Report, Row, TargetInfo
from compat.provenance import PYTEST, is_foreign, resolve_provenance
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


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def target_data(t: TargetInfo) -> dict[str, Any]:
    origin = resolve_provenance(t)
    return {
        "id": t.id,
        "version": str(t.version),
        "build": t.build,
        "torch_version": t.torch_version,
        "source_file": t.source_file,
        "properties": dict(t.properties),
        "registered_hops": list(t.registered_hops),
        "env_error": None if t.env_error is None else cut(t.env_error),
        "provenance": {
            "format": PYTEST if is_foreign(t) else "suite",
            "made_by": origin.made_by,
            "run_date": origin.run_date or None,
            "host": origin.host or None,
            "source_file": origin.source_file,
        },
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
        "evidence": dict(b.evidence),
        "links": list(b.links),
        "expected": b.expected,
        "origin": b.origin,
    }


def extra_properties(properties: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The testcase properties a result states beyond its own keys and its cell id."""
    return {k: cut(v) for k, v in properties if k not in REDUNDANT_PROPERTIES}


def result_data(cell: Cell) -> dict[str, Any]:
    """One cell in one target; keys without a value are left out."""
    # Status is a str enum: json writes it as its value.
    out: dict[str, Any] = {"target": cell.target, "status": cell.status, "time": cell.time}
    if cell.behaviours:
        out["behaviours"] = list(cell.behaviours)
    if cell.error_type is not None:
        out["error_type"] = cell.error_type
    if cell.message is not None:
        out["message"] = cut(cell.message)
    if cell.signature is not None:
        out["signature"] = cell.signature
    expected = expected_reason(cell)
    if expected is not None:
        out["expected"] = expected
    extra = extra_properties(cell.properties)
    if extra:
        out["properties"] = extra
    return out


def row_data(row: Row) -> dict[str, Any]:
    """One cell id and its results in column order."""
    cell_id = row.id
    return {
        "device": cell_id.device.value,
        "hop": cell_id.hop,
        "id": str(cell_id),
        "mode": cell_id.mode.value,
        "results": [result_data(cell) for cell in row.cells],
        "source": cell_id.source.value,
        "variant": cell_id.variant,
    }


def claim_data(row: ClaimRow) -> dict[str, Any]:
    """An exportdb case and its cells whose status contradicts ExportDB's declared level."""
    cells = [
        {"target": m.target, "cell": str(m.cell), "declared": m.declared, "status": m.status.value}
        for m in row.misses
    ]
    return {"case": row.case, "cells": cells}


def facts_data(facts: Facts) -> dict[str, list[dict[str, Any]]]:
    return {
        "since": [
            {
                "cell": str(s.cell),
                "build": s.build,
                "since": s.since,
                "at_oldest": s.at_oldest,
                "gone": s.gone,
            }
            for s in facts.since
        ],
        "changes": [
            {
                "kind": c.kind.value,
                "build": c.build,
                "cell": str(c.cell),
                "before": c.before,
                "after": c.after,
                "before_status": c.before_status,
                "after_status": c.after_status,
                "note": c.note,
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
        "gaps": [
            {
                "target": g.target,
                "gap": g.gap.value,
                "reason": cut(g.reason),
                "cells": [str(c) for c in g.cells],
            }
            for g in facts.gaps
        ],
        "inventory": [
            {"hop": i.hop, "registered_in": list(i.registered_in), "covered": i.covered}
            for i in facts.inventory
        ],
        "signatures": [
            {"signature": s.signature, "count": s.count, "cells": list(s.cells)}
            for s in facts.signatures
        ],
        "exportdb_claims": [claim_data(c) for c in facts.claims],
    }


def _lines(items: Iterable[object]) -> str:
    """A JSON array, one item per line."""
    encoded = [_dumps(item) for item in items]
    return "[\n" + ",\n".join(encoded) + "\n]" if encoded else "[]"


def render_json(report: Report, facts: Facts, metadata: Mapping[str, str] | None = None) -> str:
    """The report as canonical JSON; ``metadata`` is the only run-specific part."""
    facts_text = ",".join(
        f"\n{_dumps(key)}:{_lines(items)}" for key, items in sorted(facts_data(facts).items())
    )
    sections = {  # sorted by key, as sort_keys would be
        "behaviours": _lines(behaviour_data(b) for b in report.behaviours),
        "cells": _lines(row_data(row) for row in report.rows),
        "facts": "{" + facts_text + "\n}",
        "metadata": _dumps(dict(metadata or {})),
        "schema_version": _dumps(JSON_SCHEMA_VERSION),
        "skipped_inputs": _lines(
            {"path": s.path, "reason": s.reason} for s in report.skipped_inputs
        ),
        "targets": _lines(target_data(t) for t in report.targets),
    }
    body = ",".join(f"\n{_dumps(key)}:{text}" for key, text in sections.items())
    return "{" + body + "\n}\n"
