"""Lifecycles declared in a layer's ``transitions:``: which state may follow which.

One rule for edits (the stores check it against the row they read in the write transaction)
and keyed imports (checked against the stored feature before anything is written).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..specs import LayerSpec


def transition_errors(spec: LayerSpec, current: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, reason) for every lifecycle field whose new value may not follow its current one.
    Keeping the same state is always allowed; a feature without a state yet may take any."""
    errors = []
    for name, table in spec.transitions.items():
        if name not in new:
            continue
        before, after = current.get(name), new.get(name)
        if before is None or after is None or before == after or before not in table:
            continue
        allowed = table[before]
        if after not in allowed:
            nexts = ", ".join(allowed) if allowed else "none (it is a final state)"
            errors.append((name, f"cannot go from {before!r} to {after!r}; allowed next states: {nexts}"))
    return errors
