"""The community report as a PDF, made offline by fpdf2 from the same `Report` the page shows.

It prints in the PDF core font Helvetica (nothing to bundle or license): its Latin-1
character set covers English and Spanish, the languages the staff pages are in, and the
names of the families' languages are printed in the reader's language, not in their own
script. A character the font lacks is printed without its accent, or as "?", never dropped
silently into an error."""

import unicodedata

from fpdf import FPDF
from fpdf.fonts import FontFace

from app.web.admin.community_report import Report, Table

ENCODING = "latin-1"
# Punctuation the pages use that Latin-1 lacks.
PLAIN = str.maketrans({"–": "-", "—": "-", "…": "...", "’": "'", "‘": "'", "“": '"', "”": '"'})


def _text(value: str) -> str:
    """`value` in what the core font can print."""
    out = []
    for char in value.translate(PLAIN):
        try:
            char.encode(ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode(ENCODING, "ignore").decode(ENCODING)
            out.append(plain or "?")
    return "".join(out)


def _table(pdf: FPDF, table: Table, first_width: int = 2) -> None:
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, _text(table.caption), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    widths = (first_width, *([1] * (len(table.head) - 1)))
    with pdf.table(
        col_widths=widths,
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
        line_height=6,
        text_align=("LEFT", *(["RIGHT"] * (len(table.head) - 1))),
    ) as grid:
        for values in (table.head, *table.rows):
            row = grid.row()
            for value in values:
                row.cell(_text(value))
    pdf.ln(4)


def report_pdf(report: Report) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(_text(f"{report.title}: {report.place}"))
    pdf.set_creator("Hearth")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, _text(report.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(0, 7, _text(report.place), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, _text(report.period), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 10)
    for label, value in report.summary:
        pdf.cell(90, 6, _text(label))
        pdf.cell(0, 6, _text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _table(pdf, report.languages)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, _text(report.interpreter_title), new_x="LMARGIN", new_y="NEXT")
    if report.interpreters:
        pdf.set_font("Helvetica", "", 9)
        for line in report.interpreters:
            pdf.multi_cell(0, 5, _text(f"- {line}"), new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 5, _text(report.interpreter_note), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    _table(pdf, report.changes)
    if report.goals is not None:
        _table(pdf, report.goals, first_width=3)
    pdf.set_font("Helvetica", "I", 8)
    for note in report.notes:
        pdf.multi_cell(0, 4, _text(note), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
