"""CSV files that staff open in a spreadsheet."""

import csv
import io
import re
from collections.abc import Iterable, Sequence

# A cell starting with one of these runs as a formula when the file is opened in a spreadsheet
# (CSV injection): names, addresses and carrier errors come from outside.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain signed number (a phone number in E.164, -3.5) is no formula: left as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def inert(value: object) -> object:
    """A text cell a spreadsheet shows as text; numbers stay numbers."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV, every text cell made inert, whatever column it is in."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([inert(cell) for cell in row])
    return out.getvalue()
