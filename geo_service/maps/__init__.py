"""Maps: the planners' web map (folium/Leaflet), its viewport data and vector tiles, and offline exports.

Web map modules: ``styles`` turns layer specs and analysis results into colour classes and
legends, ``viewport`` answers "what is in this map view" (features, or grid clusters when there
are too many), ``data`` keeps the per-layer indexes those answers come from, ``tiles`` encodes
Mapbox Vector Tiles, ``basemaps`` reads the basemap settings, ``webmap`` builds the folium page,
``assets`` serves or inlines Leaflet and its plugins, ``export`` writes self-contained HTML files.
"""
