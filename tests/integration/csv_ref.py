# SPDX-License-Identifier: MIT
"""What quotepack's CSV reading should give, in terms of Python's csv module (standard library).

quotepack reads what Python's csv module reads (strict mode), except that it also skips lines of
only spaces and tabs that hold no delimiter (as pandas does), and each record must be as wide as
the header.
"""
import csv
import io
import xml.etree.ElementTree as ET


def py_records(text, **fmt):
    """Python's csv records of text (strict=True, fmt as for csv.reader), less what quotepack
    skips as blank lines: empty ones (Python gives [] for them) and lines of only spaces and
    tabs that Python reads as one field (so they hold no delimiter and no quote). Raises
    csv.Error where Python does."""
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(iter(lines), strict=True, **fmt)
    out, seen = [], 0
    for rec in reader:
        raw = "".join(lines[seen:reader.line_num]).rstrip("\r\n")
        seen = reader.line_num
        if rec and not (len(rec) == 1 and raw and raw == rec[0] and raw.strip(" \t") == ""):
            out.append(rec)
    return out


def xml_records(stdout):
    """The values of each <Row> of a quotepack XML document."""
    return [[e.text or "" for e in row] for row in ET.fromstring(stdout)]
