"""Text that cannot break a page (issue 13): bidi overrides, invisible characters, huge names, emoji.

Before: a compound name with U+202E reversed the rest of the report's subtitle ("573" for 375), and a
10,000-character name drew across the whole page and made a 6.5 MB PDF.
"""

from __future__ import annotations

import pytest
from pypdf import PdfReader

from geo_service.reports.data import Scope
from geo_service.reports.pdf import build_report
from geo_service.store.base import Query
from geo_service.text import ELLIPSIS, drawable
from tests.test_reports import NAME, compound_id, page_texts, settings, store  # noqa: F401 - fixtures

RLO, PDF_, LRI, ZWSP, ZWJ, BOM = "\u202e", "\u202c", "\u2066", "\u200b", "\u200d", "\ufeff"


@pytest.mark.parametrize("raw, shown", [
    (f"梅陇{RLO}375{PDF_}村", "梅陇375村"),
    (f"a{LRI}b\u2069c\u200ed\u200fe", "abcde"),
    (f"zero{ZWSP}width{BOM}", "zerowidth"),
    ("tab\tand\nnewline\x07bell", "tab and newlinebell"),
    ("家庭👨" + ZWJ + "👩", "家庭👨👩"),
    ("小区🏠", "小区🏠"),
])
def test_drawable_neutralises_controls(raw, shown):
    assert drawable(raw) == shown


def test_drawable_caps_the_length():
    assert drawable("梅" * 10_000, 16) == "梅" * 15 + ELLIPSIS
    assert drawable("short", 16) == "short"


def test_a_hostile_name_does_not_break_the_compound_page(store, settings):  # noqa: F811
    cid = compound_id(store)
    hostile = f"{RLO}375{PDF_}" + "长" * 10_000 + ZWSP + "🏠"
    store.update("compounds", cid, {"name": hostile}, actor="test")
    out = build_report(store, settings, Scope("compound", str(cid)))
    assert out.path.stat().st_size < 2_000_000, "the long name must not draw across the page"
    (text,) = page_texts(out.path)
    assert RLO not in text and PDF_ not in text and ZWSP not in text
    assert "375" in text and "573" not in text  # the override did not reorder the page
    assert ELLIPSIS in text
    assert len(PdfReader(out.path).pages) == 1
    # The data keep the full name.
    assert store.query("compounds", Query(ids=[cid])).features["name"].iloc[0] == hostile
