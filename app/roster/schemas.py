from datetime import datetime
from typing import Any

from pydantic import Field

from app.core.schema import Output


class EntityCounts(Output):
    created: int = 0
    updated: int = 0
    # For links and enrollments: associations removed (they carry no history of their own).
    deactivated: int = 0
    unchanged: int = 0
    rejected: int = 0


class RowProblem(Output):
    entity: str | None = None
    file: str
    line: int | None = Field(description="The line of the file (the header is line 1).")
    sourced_id: str | None = None
    reason: str


class FileRead(Output):
    mode: str
    rows: int


class ImportReport(Output):
    kind: str
    format: str
    dry_run: bool
    files: dict[str, FileRead]
    counts: dict[str, EntityCounts]
    rejected: list[RowProblem] = Field(description="The first 1,000 rejected rows.")
    rejected_total: int
    warnings: list[RowProblem] = Field(description="The first 1,000 warnings.")
    warnings_total: int
    ignored: dict[str, int] = Field(description="Rows Hearth does not import, by reason.")
    seconds: float


class ImportSummary(Output):
    id: int
    kind: str
    status: str
    mode: str | None
    dry_run: bool
    force: bool
    school_id: int | None
    filename: str
    actor: str
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, EntityCounts] | None = None
    rejected_total: int | None = None

    @classmethod
    def of(cls, job: Any) -> "ImportSummary":
        summary = cls.model_validate(job)
        if job.report:
            summary.counts = {k: EntityCounts(**v) for k, v in job.report.get("counts", {}).items()}
            summary.rejected_total = job.report.get("rejected_total")
        return summary


class ImportRead(ImportSummary):
    report: ImportReport | None = None

    @classmethod
    def of(cls, job: Any) -> "ImportRead":
        read = cls.model_validate(job)
        if job.report:
            read.counts = read.report.counts if read.report else None
            read.rejected_total = job.report.get("rejected_total")
        return read
