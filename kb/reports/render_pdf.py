"""PDF renderer (fpdf2: pure Python, installs from PyPI with no system libraries or fonts).

kb ships DejaVu Sans (regular and bold, ``kb/data/fonts/``, Bitstream Vera / Arev license) and
embeds the subset of it a report uses, so text is drawn as is: Latin, Greek, Cyrillic,
typographic punctuation and most symbols. A character the font lacks (CJK, emoji, ...) becomes
"?" after a compatibility mapping (fullwidth punctuation to ASCII) was tried, and the PDF then
names those characters by code point on its first page; invisible control characters are
dropped. If the font files are missing or unreadable, the PDF falls back to the core font
Helvetica, which covers Latin-1 only: other characters are transliterated (typographic quotes
and dashes to ASCII, accented letters outside Latin-1 to their base letter) and whatever is
left becomes "?", which the PDF says too. The HTML, XLSX, CSV, JSON and Markdown formats keep
the full text either way.

The font files are checked and their character maps read once per process
(:func:`unicode_fonts`). fpdf2 still parses a font per document: its output subsets the parsed
font in place, so one parsed font cannot serve two documents.
"""

from __future__ import annotations

import functools
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont  # a dependency of fpdf2
from fpdf import FPDF

from kb.reports import text as t
from kb.reports.service import Report, ScoreLine, VendorSection

_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2022": "*",
        "\u2026": "...",
        "\u2192": "->",
        "\u2190": "<-",
        "\u20ac": "EUR",
        "\u2122": "(TM)",
        "\u00a0": " ",
        "\u200b": "",
        "\u2009": " ",
        "\u202f": " ",
    }
)
# A portfolio PDF is read by people: per vendor it lists the biggest drivers and the newest
# events only; the HTML, XLSX, JSON and Markdown exports carry every one.
PORTFOLIO_DRIVERS = 10
PORTFOLIO_EVENTS = 20
TREND_X = 130  # mm: where a score card's trend chart starts
BAND_RGB = {
    "low": (46, 125, 50),
    "moderate": (181, 137, 0),
    "high": (230, 81, 0),
    "severe": (183, 28, 28),
}


FONT_DIR = Path(str(resources.files("kb") / "data" / "fonts"))
FONT_FAMILY = "dejavu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
CORE_FAMILY = "helvetica"
# Missing characters the first-page note names by code point (the rest as "...").
NOTE_CODES = 4


@dataclass(frozen=True)
class PdfFonts:
    """The shipped Unicode fonts: their files by style, and the code points all of them draw."""

    files: tuple[tuple[str, Path], ...]
    chars: frozenset[int]


@functools.cache
def unicode_fonts(font_dir: Path = FONT_DIR) -> PdfFonts | None:
    """DejaVu Sans in ``font_dir``, checked once per process; None (with a RuntimeWarning) when
    a file is missing or unreadable: the PDF then uses the core fonts."""
    files = tuple((style, font_dir / name) for style, name in FONT_FILES.items())
    chars: frozenset[int] | None = None
    try:
        for _, path in files:
            with TTFont(path, lazy=True) as font:
                cmap = frozenset(font.getBestCmap() or ())
            chars = cmap if chars is None else chars & cmap
        if chars is None or not all(c in chars for c in range(0x20, 0x7F)):
            raise ValueError("the fonts do not cover printable ASCII")
    except Exception as exc:  # any unreadable font: fall back rather than fail the report
        warnings.warn(
            f"PDF reports use the core fonts (Latin-1 only): cannot use {font_dir}: {exc}",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return PdfFonts(files, chars)


def _unicode(text: str | None, chars: frozenset[int], newlines: bool) -> tuple[str, list[str]]:
    """(text the font can draw, the characters it lacks, each drawn as "?").

    Text is NFC-normalized; a missing character is replaced by its NFKC form when the font has
    that (fullwidth punctuation to ASCII), whitespace by a space, invisible controls dropped."""
    if not text:
        return "", []
    if text.isascii() and text.isprintable():
        return text, []
    out: list[str] = []
    missing: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) in chars or (newlines and ch == "\n"):
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        else:
            compat = unicodedata.normalize("NFKC", ch)
            if compat != ch and all(ord(c) in chars for c in compat):
                out.append(compat)
            else:
                out.append("?")
                missing.append(ch)
    return "".join(out), missing


def latin1(text: str | None) -> str:
    """Text the core fonts can draw: Latin-1 kept, the rest transliterated or replaced by ?."""
    return _latin1(text)[0]


def _latin1(text: str | None) -> tuple[str, bool]:
    """(Latin-1 text, whether a character had to become "?")."""
    if not text:
        return "", False
    try:
        text.encode("latin-1")
        return text, False
    except UnicodeEncodeError:
        pass
    out = []
    lost = False
    for ch in text.translate(_PUNCTUATION):
        if ord(ch) < 256:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base and all(ord(c) < 256 for c in base):
            out.append(base)
        else:
            out.append("?")
            lost = True
    return "".join(out), lost


class _Pdf(FPDF):
    def __init__(self, report: Report, fonts: PdfFonts | None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report = report
        self.chars = fonts.chars if fonts else None
        self.face = FONT_FAMILY if fonts else CORE_FAMILY
        # Paragraphs: justified in core fonts; ragged right in the embedded font, where fpdf2
        # justifies by moving each word, which text extraction and copying read as extra spaces.
        self.align = "L" if fonts else "J"
        if fonts:
            for style, path in fonts.files:
                self.add_font(FONT_FAMILY, style, path)
        self.replaced = False  # core fonts: some character became "?"
        self.missing: dict[str, None] = {}  # Unicode font: the characters it lacks, in order
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(12, 12, 12)
        self.set_title(report.title if fonts else latin1(report.title))
        self.set_creator("kb")
        self.set_creation_date(report.generated_at)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.face, size=7)
        self.set_text_color(110, 110, 110)
        self.cell(
            0,
            5,
            self.txt(f"{self.report.title} - as of {self.report.as_of.isoformat()}")
            + f" - page {self.page_no()}/{{nb}}",
            align="C",
        )
        self.set_text_color(0, 0, 0)

    def txt(self, text: str | None, newlines: bool = False) -> str:
        """``text`` as the current fonts can draw it; what had to be replaced is noted."""
        if self.chars is None:
            out, lost = _latin1(text)
            self.replaced = self.replaced or lost
            return out
        out, missing = _unicode(text, self.chars, newlines)
        for ch in missing:
            self.missing[ch] = None
        return out

    def replacement_note(self) -> str | None:
        """The first page's note on replaced characters, if any were."""
        if self.chars is None:
            if not self.replaced:
                return None
            return (
                "Some characters outside Latin-1 are shown as '?' here; the HTML, XLSX, CSV, "
                "JSON and Markdown formats keep the full text."
            )
        if not self.missing:
            return None
        n = len(self.missing)
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in list(self.missing)[:NOTE_CODES])
        if n > NOTE_CODES:
            codes += ", ..."
        return (
            f"{n} {'character' if n == 1 else 'characters'} not in the PDF font ({codes}) "
            f"{'is' if n == 1 else 'are'} shown as '?' here; the HTML, XLSX, CSV, JSON and "
            "Markdown formats keep the full text."
        )

    # ------------------------------------------------------------------ building blocks

    def heading(self, text: str, size: int = 14) -> None:
        self.set_font(self.face, "B", size)
        self.multi_cell(
            0, size * 0.5, self.txt(text, True), new_x="LMARGIN", new_y="NEXT", align=self.align
        )
        self.ln(1)
        self.set_font(self.face, size=9)

    def para(self, text: str, size: int = 9) -> None:
        self.set_font(self.face, size=size)
        self.multi_cell(
            0, 4.2, self.txt(text, True), new_x="LMARGIN", new_y="NEXT", align=self.align
        )

    def width_of(self, text: str) -> float:
        """The width of ``text`` in mm in the current font (a fast get_string_width): core
        fonts key their widths by character, embedded fonts by code point; ``text`` went
        through txt(), so the font has every character."""
        assert self.current_font is not None
        cw: Any = self.current_font.cw
        if self.chars is None:
            units = sum(cw.get(ch, 600) for ch in text)
        else:
            units = sum(cw[ord(ch)] for ch in text)
        return units * self.font_size_pt * 0.001 / self.k

    def _wrap(self, text: str, width: float, max_lines: int) -> list[str]:
        """Greedy word wrap of ``text`` into at most ``max_lines`` lines of ``width`` mm (the
        last one ends with "..." when text was cut)."""
        usable = width - 2 * self.c_margin
        if self.width_of(text) <= usable:
            return [text]
        lines: list[str] = []
        line = ""
        for word in text.split(" "):
            candidate = f"{line} {word}" if line else word
            if self.width_of(candidate) <= usable:
                line = candidate
                continue
            if line:
                lines.append(line)
            while self.width_of(word) > usable and len(word) > 1:
                cut = max(1, int(len(word) * usable / self.width_of(word)))
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = lines[-1][: max(0, len(lines[-1]) - 3)] + "..."
        return lines

    def grid(
        self,
        header: Sequence[str],
        widths: Sequence[float],
        rows: Sequence[Sequence[str]],
        links: Sequence[Sequence[str | None]] | None = None,
        line_h: float = 3.4,
        max_lines: int = 4,
    ) -> None:
        """A table whose cells wrap (up to ``max_lines`` lines); the header repeats on each page.
        Drawn with text() and link() rather than cell(): ten times faster on long tables."""

        def draw_header() -> None:
            self.set_font(self.face, "B", 7.5)
            self.set_fill_color(235, 235, 235)
            x, y = self.l_margin, self.get_y()
            for name, w in zip(header, widths, strict=True):
                self.rect(x, y, w, 5, style="DF")
                self.text(x + self.c_margin, y + 3.5, self.txt(name))
                x += w
            self.set_xy(self.l_margin, y + 5)
            self.set_font(self.face, size=7.5)

        draw_header()
        baseline = line_h / 2 + self.font_size * 0.35
        for r, row in enumerate(rows):
            cells = [
                self._wrap(self.txt(value), w, max_lines)
                for value, w in zip(row, widths, strict=True)
            ]
            height = line_h * max(len(c) for c in cells) + 1
            if self.get_y() + height > self.page_break_trigger:
                self.add_page()
                draw_header()
            x, y = self.l_margin, self.get_y()
            for c, (lines, w) in enumerate(zip(cells, widths, strict=True)):
                link = links[r][c] if links is not None else None
                self.rect(x, y, w, height)
                if link:
                    self.set_text_color(6, 69, 173)
                    self.link(x, y, w, height, link)
                for i, line in enumerate(lines):
                    if line:
                        self.text(x + self.c_margin, y + 0.5 + i * line_h + baseline, line)
                if link:
                    self.set_text_color(0, 0, 0)
                x += w
            self.set_xy(self.l_margin, y + height)
        self.ln(2)

    def score_bar(self, score: ScoreLine, x: float, y: float, width: float) -> None:
        """A 0-100 bar filled to the score, in its band's colour."""
        self.set_draw_color(180, 180, 180)
        self.rect(x, y, width, 3)
        self.set_fill_color(*BAND_RGB.get(score.band, (90, 90, 90)))
        self.rect(x, y, width * max(0.0, min(score.value, 100.0)) / 100, 3, style="F")
        self.set_draw_color(0, 0, 0)

    def trend(self, score: ScoreLine, x: float, y: float, w: float, h: float) -> None:
        """The stored scores over the past year as a line."""
        self.set_draw_color(200, 200, 200)
        self.rect(x, y, w, h)
        points = score.trend
        if len(points) >= 2:
            first = points[0].date.toordinal()
            span = max(points[-1].date.toordinal() - first, 1)
            coords = [
                (
                    x + w * (p.date.toordinal() - first) / span,
                    y + h - h * max(0.0, min(p.value, 100.0)) / 100,
                )
                for p in points
            ]
            self.set_draw_color(*BAND_RGB.get(score.band, (90, 90, 90)))
            self.set_line_width(0.4)
            self.polyline(coords)
            self.set_line_width(0.2)
        self.set_draw_color(0, 0, 0)


def _summary(pdf: _Pdf, report: Report) -> None:
    pdf.heading("Executive summary", 12)
    rows, links = [], []
    for v in report.vendors:
        for s in v.scores:
            prev = f"{t.num(s.previous.value)} ({t.day(s.previous.as_of)})" if s.previous else "-"
            rows.append(
                [
                    v.name,
                    s.label,
                    t.num(s.value),
                    s.band,
                    t.conf(s.confidence),
                    s.trend_word,
                    prev,
                    t.signed(s.change),
                ]
            )
            links.append([None] * 8)
    pdf.grid(
        ["Vendor", "Dimension", "Score", "Band", "Confidence", "Trend", "Previous", "Change"],
        [44, 26, 14, 18, 18, 16, 30, 20],
        rows,
        links,
    )


def _chart(pdf: _Pdf, report: Report) -> None:
    """Bars of every vendor's two scores on a 0-100 scale (S = stability, L = lock-in)."""
    pdf.heading("Scores by vendor", 11)
    label_w, bar_w, row_h = 55.0, 110.0, 7.0
    x0 = pdf.l_margin + label_w

    def axis(y: float) -> None:
        pdf.set_font(pdf.face, size=6.5)
        pdf.set_draw_color(215, 215, 215)
        for tick in (0, 25, 50, 75, 100):
            x = x0 + bar_w * tick / 100
            pdf.text(x - 1.5, y, str(tick))
        pdf.set_draw_color(0, 0, 0)

    axis(pdf.get_y() + 2)
    pdf.set_y(pdf.get_y() + 3)
    for v in report.vendors:
        if pdf.get_y() + row_h > pdf.page_break_trigger:
            pdf.add_page()
            axis(pdf.get_y() + 2)
            pdf.set_y(pdf.get_y() + 3)
        y = pdf.get_y()
        pdf.set_font(pdf.face, size=7.5)
        pdf.text(pdf.l_margin, y + 4.2, pdf._wrap(pdf.txt(v.name), label_w, 1)[0])
        for j, s in enumerate(v.scores[:2]):
            yy = y + 0.6 + j * 3.0
            w = bar_w * max(0.0, min(s.value, 100.0)) / 100
            pdf.set_fill_color(*BAND_RGB.get(s.band, (90, 90, 90)))
            if w > 0:
                pdf.rect(x0, yy, w, 2.6, style="F")
            pdf.set_font(pdf.face, size=6)
            pdf.text(x0 + w + 1.5, yy + 2.2, f"{'S' if j == 0 else 'L'} {t.num(s.value)}")
        pdf.set_draw_color(225, 225, 225)
        pdf.line(x0, y, x0, y + row_h)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_y(y + row_h)
    pdf.ln(2)


def _vendor(pdf: _Pdf, report: Report, v: VendorSection) -> None:
    if report.kind == "portfolio" or pdf.get_y() > 200:
        pdf.add_page()
    pdf.heading(f"{v.name} ({v.slug})", 13)
    if v.description:
        pdf.para(v.description)
    pdf.ln(1)
    for s in v.scores:
        y = pdf.get_y()
        pdf.set_font(pdf.face, "B", 10)
        pdf.cell(
            60, 5, pdf.txt(f"{s.label}: {t.num(s.value)} ({s.band})"), new_x="LMARGIN", new_y="NEXT"
        )
        line = pdf.txt(
            f"confidence {t.conf(s.confidence)}; {s.trend_word}, change {t.signed(s.change)}"
            f"; model {s.model_version}; stored {t.stamp(s.as_of)}"
        )
        size = 8.0
        pdf.set_font(pdf.face, size=size)
        while size > 6 and pdf.width_of(line) > TREND_X - pdf.l_margin - 3:  # left of the chart
            size -= 0.5
            pdf.set_font(pdf.face, size=size)
        pdf.cell(100, 4, line, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf.face, size=8)
        pdf.score_bar(s, pdf.l_margin, pdf.get_y() + 1, 90)
        pdf.trend(s, TREND_X, y, 66, 14)
        pdf.set_y(max(pdf.get_y() + 5, y + 16))
    portfolio = report.kind == "portfolio"
    for s in v.scores:
        pdf.heading(f"Drivers of {s.label.lower()} ({t.num(s.value)})", 10)
        if not s.drivers:
            pdf.para("No contributions.")
            continue
        drivers = s.drivers[:PORTFOLIO_DRIVERS] if portfolio else s.drivers
        if len(drivers) < len(s.drivers):
            pdf.para(
                f"The {len(drivers)} biggest of {len(s.drivers)} drivers; every one is in the "
                "HTML, XLSX, JSON and Markdown exports and in the vendor report."
            )
        rows, links = [], []
        for d in drivers:
            dl = t.driver_links(d)
            rows.append([t.num(d.points), d.kind, d.label, t.day(d.date), dl[0].url if dl else ""])
            links.append([None, None, None, None, dl[0].url if dl else None])
        pdf.grid(["Points", "Kind", "Driver", "Date", "Source"], [14, 12, 86, 18, 56], rows, links)
    pdf.heading("Events timeline", 10)
    if v.events:
        events = v.events[:PORTFOLIO_EVENTS] if portfolio else v.events
        if len(events) < len(v.events):
            pdf.para(
                f"The {len(events)} newest of {len(v.events)} events; every one is in the "
                "HTML, XLSX, JSON and Markdown exports and in the vendor report."
            )
        rows, links = [], []
        for e in events:
            el = t.event_links(e)
            rows.append(
                [
                    t.day(e.date),
                    e.title,
                    e.category_label,
                    str(e.severity),
                    e.status,
                    el[0].url if el else "",
                ]
            )
            links.append(
                [None, el[0].url if el else None, None, None, None, el[0].url if el else None]
            )
        pdf.grid(
            ["Date", "Event", "Category", "Sev.", "Status", "Source"],
            [18, 76, 28, 9, 17, 38],
            rows,
            links,
            max_lines=3,
        )
    else:
        pdf.para("No events up to the as-of date.")
    pdf.heading("Data sovereignty", 10)
    rows = [
        ["Jurisdiction", v.jurisdiction or "unknown", "", ""],
        ["Corporate form", v.corporate_form or "unknown", "", ""],
        ["Parent", v.parent or "none", "", ""],
    ]
    links_s: list[list[str | None]] = [[None] * 4 for _ in rows]
    for f in v.sovereignty_facts:
        url = t.safe_url(f.source_url)
        rows.append([f.label, f.value, f.detail or "", f"{url or ''} {t.day(f.checked_at)}"])
        links_s.append([None, None, None, url])
    pdf.grid(["Item", "Value", "Detail", "Source, checked"], [40, 20, 70, 56], rows, links_s)
    pdf.heading("Profile and lock-in checklist", 10)
    if v.facts:
        rows, links = [], []
        for f in v.facts:
            url = t.safe_url(f.source_url)
            rows.append(
                [f.label, f.value, f.assessment, f.detail or "", url or "", t.day(f.checked_at)]
            )
            links.append([None, None, None, None, url, None])
        pdf.grid(
            ["Fact", "Value", "Assessment", "Detail", "Source", "Checked"],
            [38, 13, 20, 55, 42, 18],
            rows,
            links,
        )
    else:
        pdf.para("No profile facts recorded.")


def _new_pdf(report: Report, fonts: PdfFonts | None) -> _Pdf:
    if fonts is not None:
        try:
            return _Pdf(report, fonts)
        except Exception as exc:  # a font file vanished or broke after the first check
            warnings.warn(
                f"PDF report uses the core fonts (Latin-1 only): {exc}",
                RuntimeWarning,
                stacklevel=3,
            )
    return _Pdf(report, None)


def render(report: Report, font_dir: Path = FONT_DIR) -> bytes:
    """The report as a PDF document (A4), in DejaVu Sans from ``font_dir`` when it is there,
    else in the core fonts."""
    pdf = _new_pdf(report, unicode_fonts(font_dir))
    pdf.add_page()
    pdf.heading(report.title, 16)
    since = report.since.isoformat() if report.since else "the previous stored score"
    pdf.para(
        f"As of {report.as_of.isoformat()}; change since {since}; model version "
        f"{', '.join(report.model_versions) or 'n/a'}; generated {t.stamp(report.generated_at)}."
    )
    notice_page, notice_y = pdf.page, pdf.get_y()
    pdf.ln(7)
    _summary(pdf, report)
    if report.kind == "portfolio" and report.vendors:
        _chart(pdf, report)
    for v in report.vendors:
        _vendor(pdf, report, v)
    if pdf.get_y() > 230:
        pdf.add_page()
    else:
        pdf.ln(4)
    pdf.heading("Method", 12)
    for paragraph in report.method:
        pdf.para(paragraph)
        pdf.ln(1)
    pdf.para(
        f"Model version {', '.join(report.model_versions) or 'n/a'}; "
        f"as-of date {report.as_of.isoformat()}."
    )
    note = pdf.replacement_note()
    if note:
        last_page, last_y = pdf.page, pdf.get_y()
        pdf.page = notice_page
        pdf.set_xy(pdf.l_margin, notice_y)
        if pdf.chars is None:
            pdf.set_font(CORE_FAMILY, "I", 7.5)
            pdf.cell(0, 5, note)
        else:  # two lines at most, in the space kept for it
            pdf.set_font(FONT_FAMILY, size=7)
            pdf.multi_cell(0, 3.2, note, align="L")
        pdf.page = last_page
        pdf.set_y(last_y)
    return bytes(pdf.output())
