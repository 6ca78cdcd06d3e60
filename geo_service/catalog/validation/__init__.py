"""The one validation module: what a feature of a layer may hold.

- ``values``: one column of raw values to its field's type (coercion, aliases, allowed values, bounds)
- ``geometry``: geometry checks (type, validity and repair, ranges, service area, outliers)
- ``frame``: a whole frame (an import, the demo) split into valid and rejected rows
- ``feature``: one feature (the stores' single-feature writes), same rules and messages
"""

from __future__ import annotations

from .feature import FeatureErrors, bad_text, validate_feature
from .frame import ID_SPEC, RowError, ValidationResult, validate_frame
from .geometry import GeometryCheck, check_geometries
from .lifecycle import transition_errors
from .values import BadValue, Column, normalise_column, plain_value

__all__ = ["ID_SPEC", "BadValue", "Column", "FeatureErrors", "GeometryCheck", "RowError", "ValidationResult",
           "bad_text", "check_geometries", "normalise_column", "plain_value", "transition_errors",
           "validate_feature", "validate_frame"]
