"""Typed analysis parameters: one declaration drives the function defaults, API, CLI and OpenAPI.

A :class:`Param` says what a value is (type, bounds or choices), what it defaults to and where
that default comes from. Values arrive as Python values (calls, settings) or as strings (query
strings, ``--param key=value``); :meth:`Param.coerce` turns either into the declared type or
raises :class:`ParamError` with a message naming the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TYPES = (float, int, bool, str)
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


class ParamError(ValueError):
    """A parameter value that does not fit its declaration (HTTP 400, CLI exit 2)."""


@dataclass(frozen=True)
class Param:
    name: str
    type: type
    default: Any
    source: str  # where the default comes from (STANDARDS.md row, or "planning judgement")
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise TypeError(f"{self.name}: unsupported parameter type {self.type!r}")
        self.coerce(self.default)  # a default must satisfy its own declaration

    @property
    def type_name(self) -> str:
        return {float: "number", int: "integer", bool: "boolean", str: "string"}[self.type]

    def coerce(self, value: Any) -> Any:
        """``value`` (native or string) as this parameter's type, within its bounds."""
        try:
            out = self._convert(value)
        except (TypeError, ValueError):
            raise ParamError(f"{self.name}={value!r}: expected {self.type_name}") from None
        if self.choices is not None and out not in self.choices:
            raise ParamError(f"{self.name}={out!r}: expected one of {', '.join(self.choices)}")
        if self.minimum is not None and out < self.minimum:
            raise ParamError(f"{self.name}={out!r}: must be >= {self.minimum:g}")
        if self.maximum is not None and out > self.maximum:
            raise ParamError(f"{self.name}={out!r}: must be <= {self.maximum:g}")
        return out

    def _convert(self, value: Any) -> Any:
        if self.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(value)
        if self.type is int:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if self.type is float:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
        if not isinstance(value, str):
            raise ValueError(value)
        return value.strip()

    def describe(self) -> dict[str, Any]:
        """JSON-ready declaration, for ``GET /analysis`` and the CLI help."""
        out: dict[str, Any] = {"name": self.name, "type": self.type_name, "default": self.default,
                               "source": self.source, "description": self.description}
        for key in ("minimum", "maximum", "choices"):
            if getattr(self, key) is not None:
                out[key] = list(self.choices) if key == "choices" else getattr(self, key)
        return out


def resolve(params: Iterable[Param], *layers: Mapping[str, Any] | None, strict: bool = True) -> dict[str, Any]:
    """Defaults overlaid by each mapping of ``layers`` in turn (settings, then the call).

    Unknown names raise ParamError when ``strict`` (a typo must not silently fall back to the default).
    """
    spec = {p.name: p for p in params}
    out = {name: p.default for name, p in spec.items()}
    for layer in layers:
        for name, value in (layer or {}).items():
            if name not in spec:
                if strict:
                    known = ", ".join(sorted(spec)) or "none"
                    raise ParamError(f"unknown parameter {name!r}; this analysis takes: {known}")
                continue
            if value is None:
                continue
            out[name] = spec[name].coerce(value)
    return out


def split_list(text: str) -> list[str]:
    """``"public, office"`` -> ``["public", "office"]`` (list-valued parameters travel as strings)."""
    return [part.strip() for part in str(text).split(",") if part.strip()]
