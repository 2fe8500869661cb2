"""Cell values of an Excel workbook (.xlsx) with the standard library only: no code is executed.

An .xlsx file is a zip archive of XML parts (ECMA-376, Office Open XML SpreadsheetML):
``xl/workbook.xml`` lists the sheets, ``xl/_rels/workbook.xml.rels`` maps each to its part
``xl/worksheets/sheetN.xml``, and ``xl/sharedStrings.xml`` holds the text that cells reference by
index (cell type ``t="s"``). :func:`read_xlsx` returns, per sheet, the cell values as
``{row: {column letters: value}}`` (rows 1-based as Excel shows them): numbers as float, text as
str, formulas as their cached value (the workbook's last computed result; formulas are never
evaluated), empty cells absent. Dates stay serial numbers. Styles, merged cells and charts are
ignored. The uncompressed size of the parts is checked against the memory limit
(:mod:`devicelib.limits`) before anything is parsed (a zip bomb is refused), and the parts are
parsed incrementally (``iterparse``), so a sheet of millions of cells needs memory for its values
only.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import PurePosixPath

from .limits import check_memory
from .textio import as_path

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL = re.compile(r"^([A-Z]{1,3})([0-9]+)$")


class XlsxError(ValueError):
    """A file is not a readable .xlsx workbook."""


def column_index(letters: str) -> int:
    """0-based index of an Excel column name (``"A"`` -> 0, ``"AA"`` -> 26)."""
    n = 0
    for ch in letters:
        n = 26 * n + (ord(ch) - 64)
    return n - 1


def _text(el) -> str:
    return "".join(t.text or "" for t in el.iter(f"{_MAIN}t"))


def read_xlsx(path: str | os.PathLike, sheets=None) -> dict[str, dict[int, dict[str, float | str]]]:
    """Cell values of the sheets of ``path`` (all, or those named in ``sheets``), in workbook order."""
    path = as_path(path)
    try:
        z = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise XlsxError(f"{path}: not an .xlsx workbook (a zip archive): {exc}") from None
    with z:
        names = set(z.namelist())
        if "xl/workbook.xml" not in names:
            raise XlsxError(f"{path}: no xl/workbook.xml part: not an .xlsx workbook")
        check_memory(sum(i.file_size for i in z.infolist()), f"{path}: reading the workbook",
                     "convert the sheets you need to CSV")
        try:
            shared = []
            if "xl/sharedStrings.xml" in names:
                shared = [_text(si) for si in ET.fromstring(z.read("xl/sharedStrings.xml")).iter(f"{_MAIN}si")]
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship")}
            book = ET.fromstring(z.read("xl/workbook.xml"))
        except (KeyError, ET.ParseError) as exc:
            raise XlsxError(f"{path}: damaged workbook part: {exc}") from None
        listed = [(s.get("name"), s.get(f"{_REL}id")) for s in book.iter(f"{_MAIN}sheet")]
        wanted = [n for n, _ in listed] if sheets is None else list(sheets)
        missing = [n for n in wanted if n not in dict(listed)]
        if missing:
            raise XlsxError(f"{path}: no sheet {missing[0]!r} (sheets: {', '.join(n for n, _ in listed)})")
        out = {}
        for name, rid in listed:
            if name not in wanted:
                continue
            tgt = target.get(rid, "")
            part = tgt.lstrip("/") if tgt.startswith("/") else str(PurePosixPath("xl") / tgt)
            if part not in names:
                raise XlsxError(f"{path}: sheet {name!r}: part {part!r} is missing")
            out[name] = _read_sheet(z, part, shared, f"{path}: sheet {name!r}")
        return out


def _read_sheet(z: zipfile.ZipFile, part: str, shared: list[str], where: str) -> dict[int, dict[str, float | str]]:
    rows: dict[int, dict[str, float | str]] = {}
    try:
        with z.open(part) as fh:
            for _, el in ET.iterparse(fh):
                if el.tag != f"{_MAIN}c":
                    continue
                m = _CELL.match(el.get("r", ""))
                if m is None:
                    raise XlsxError(f"{where}: cell without a reference (r={el.get('r')!r})")
                kind, v = el.get("t"), el.find(f"{_MAIN}v")
                if v is None or v.text is None:
                    isel = el.find(f"{_MAIN}is")
                    value = _text(isel) if isel is not None else None
                elif kind == "s":
                    k = int(v.text)
                    if not 0 <= k < len(shared):
                        raise XlsxError(f"{where}, cell {m[0]}: shared-string index {k} out of range")
                    value = shared[k]
                elif kind in ("str", "inlineStr", "e"):
                    value = v.text
                elif kind == "b":
                    value = float(v.text == "1")
                else:
                    try:
                        value = float(v.text)
                    except ValueError:
                        raise XlsxError(f"{where}, cell {m[0]}: expected a number, got {v.text[:40]!r}") from None
                if value is not None and value != "":
                    rows.setdefault(int(m[2]), {})[m[1]] = value
                el.clear()
    except ET.ParseError as exc:
        raise XlsxError(f"{where}: damaged XML: {exc}") from None
    return rows
