"""Web Mercator helpers for ``tiles`` while it waits here (they live in :mod:`geo_service.web.viewport`).

Temporary: when the tile encoder moves into ``store/`` this module goes with ``maps/``.
"""

from ..web.viewport import WORLD_M, mercator

__all__ = ["WORLD_M", "mercator"]
