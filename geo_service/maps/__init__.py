"""What is left of the old ``maps`` package: the MVT encoder (``tiles``), on its way into ``store/``.

The web map is now :mod:`geo_service.web`, the print reports :mod:`geo_service.reports`.
"""
