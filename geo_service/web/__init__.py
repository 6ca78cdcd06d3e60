"""The planners' web map: a folium/Leaflet page, its viewport data and offline exports.

``data`` keeps the per-layer indexes and answers views and overlays, ``viewport`` clusters a
view, ``page`` builds the folium page, ``basemaps`` reads the basemap settings, ``assets``
links or inlines Leaflet and our script (``static/``), ``export`` writes self-contained HTML
files, ``templating`` renders ``templates/`` (our own HTML, the OGC pages included).
Colour schemes come from :mod:`geo_service.styles`, shared with the reports; this package
imports neither ``reports`` nor ``api``.
"""
