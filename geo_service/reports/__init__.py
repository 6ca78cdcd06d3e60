"""Print reports for meetings: a compound's page, street and district atlases (PDF, PNG).

``data`` gathers a scope's layers and analyses, ``static_map`` draws maps with matplotlib,
``layout`` and ``pages`` compose A4 pages, ``pdf`` renders and caches files, ``files`` names
them, ``jobs`` runs long atlases in the background, ``fonts`` embeds a CJK face; ``programme``
gathers and ``progress_page`` draws an atlas's programme progress page.
Colour schemes come from :mod:`geo_service.styles`, shared with the web map; this package
imports neither ``web`` nor ``api``.
"""
