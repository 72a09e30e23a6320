"""One cell's outcome, as the worker reports it and the JUnit writer renders it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from suites.junit_xml import Testcase
from suites.schema import CellId, Prop, Status

_PROP_ORDER = {p.value: i for i, p in enumerate(Prop)}


@dataclass(frozen=True)
class CellResult:
    """What happened to one cell; ``properties`` are (Prop, value) in Prop order."""

    cell: CellId
    status: Status
    seconds: float = 0.0
    properties: tuple[tuple[str, str], ...] = ()
    message: str = ""  # one line: the error signature or the reason
    detail: str = ""  # the longer story: message lines, traceback tail

    def prop(self, key: str) -> str | None:
        """The value of one property, or None."""
        return dict(self.properties).get(key)

    def with_property(self, key: str, value: str) -> CellResult:
        """This result with one more property (or one replaced)."""
        props = {**dict(self.properties), str(key): value}
        return replace(self, properties=_in_order(props))

    def testcase(self) -> Testcase:
        """This cell as a JUnit testcase, named so that ``CellId.from_junit`` reads it back."""
        return Testcase(
            self.cell.classname,
            self.cell.name,
            self.status,
            self.seconds,
            self.properties,
            self.message,
            self.detail,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the worker's wire format)."""
        return {
            "cell": str(self.cell),
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "properties": [list(kv) for kv in self.properties],
            "message": self.message,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CellResult:
        """Inverse of ``to_json``."""
        return cls(
            cell=CellId.parse(data["cell"]),
            status=Status(data["status"]),
            seconds=float(data["seconds"]),
            properties=tuple((str(k), str(v)) for k, v in data["properties"]),
            message=data["message"],
            detail=data["detail"],
        )


def make_result(
    cell: CellId,
    status: Status,
    seconds: float = 0.0,
    properties: Mapping[str, str] | None = None,
    message: str = "",
    detail: str = "",
) -> CellResult:
    """A CellResult whose properties carry the cell's identity and status too."""
    props = {
        Prop.HOP.value: cell.hop,
        Prop.VARIANT.value: cell.variant,
        Prop.SOURCE.value: cell.source.value,
        Prop.MODE.value: cell.mode.value,
        Prop.DEVICE.value: cell.device.value,
        **{str(k): v for k, v in (properties or {}).items() if v != ""},
        Prop.STATUS.value: status.value,
    }
    return CellResult(cell, status, seconds, _in_order(props), message, detail)


def _in_order(props: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(props.items(), key=lambda kv: _PROP_ORDER.get(kv[0], len(_PROP_ORDER))))
