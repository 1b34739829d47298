"""What an import did: counts per entity, and every rejected row with file, line and reason."""

from collections import Counter
from typing import Any

ENTITIES: tuple[str, ...] = (
    "schools",
    "sections",
    "teachers",
    "students",
    "guardians",
    "links",
    "enrollments",
)
OUTCOMES: tuple[str, ...] = ("created", "updated", "deactivated", "unchanged", "rejected")
MAX_LISTED = 1000  # rows listed in a stored report; the counts are always complete


class Report:
    def __init__(self, kind: str, entities: tuple[str, ...] = ENTITIES) -> None:
        self.kind = kind
        self.format = ""
        self.files: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, Counter[str]] = {e: Counter() for e in entities}
        self.rejected: list[dict[str, Any]] = []
        self.rejected_total = 0
        self.warnings: list[dict[str, Any]] = []
        self.warnings_total = 0
        self.ignored: Counter[str] = Counter()

    def count(self, entity: str, outcome: str, n: int = 1) -> None:
        if n:
            # `users`: rows of users.csv that cannot be told apart as any entity.
            self.counts.setdefault(entity, Counter())[outcome] += n

    def reject(
        self, entity: str, file: str, line: int | None, reason: str, sourced_id: str | None = None
    ) -> None:
        self.count(entity, "rejected")
        self.rejected_total += 1
        if len(self.rejected) < MAX_LISTED:
            self.rejected.append(
                {
                    "entity": entity,
                    "file": file,
                    "line": line,
                    "sourced_id": sourced_id or None,
                    "reason": reason,
                }
            )

    def warn(self, file: str, line: int | None, reason: str, sourced_id: str | None = None) -> None:
        self.warnings_total += 1
        if len(self.warnings) < MAX_LISTED:
            self.warnings.append(
                {"file": file, "line": line, "sourced_id": sourced_id or None, "reason": reason}
            )

    def ignore(self, what: str, n: int = 1) -> None:
        self.ignored[what] += n

    def as_dict(self, *, dry_run: bool, seconds: float) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "format": self.format,
            "dry_run": dry_run,
            "files": self.files,
            "counts": {
                entity: {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}
                for entity, counts in self.counts.items()
            },
            "rejected": self.rejected,
            "rejected_total": self.rejected_total,
            "warnings": self.warnings,
            "warnings_total": self.warnings_total,
            "ignored": dict(sorted(self.ignored.items())),
            "seconds": round(seconds, 2),
        }
