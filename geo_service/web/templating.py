"""The one render helper: Jinja2 templates from ``web/templates`` with autoescaping on for every file.

Data reach a page only through template variables, so names, titles and properties that hold
markup show as text. The few pre-built fragments (a page body made by another template, script
text made safe by :func:`~.assets.script_text`) are passed as ``Markup`` on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup


def blank(value: Any) -> Any:
    """A table cell's value: missing values (None, pandas NA, NaN) as an empty cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return value


_ENV = Environment(loader=PackageLoader("geo_service.web", "templates"), autoescape=True,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
_ENV.filters["blank"] = blank


def _named_quotes(text: str) -> str:
    # markupsafe writes a quote as &#34;; the pages have always said &quot; (same character, and a
    # literal "&#34;" in data is escaped to "&amp;#34;", so this touches only escaped quotes).
    return text.replace("&#34;", "&quot;")


def render(name: str, **context: Any) -> str:
    """The template ``name`` (a path under templates/) rendered with ``context``."""
    return _named_quotes(_ENV.get_template(name).render(**context))


def macro(template: str, name: str) -> Callable[..., Markup]:
    """A macro of a template, callable from Python (it returns escaped markup)."""
    call = getattr(_ENV.get_template(template).module, name)
    return lambda *args, **kwargs: Markup(_named_quotes(str(call(*args, **kwargs))))


__all__ = ["Markup", "blank", "macro", "render"]
