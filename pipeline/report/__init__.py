"""The CX report: a self-contained HTML document of a period vs the one before, from the lake.

``period`` is the time window, ``lake_views`` opens the lake in DuckDB (one row per record),
``queries`` computes the numbers, ``charts`` draws them (matplotlib, embedded as SVG data
URIs), ``sections`` turns numbers into charts with a sentence each, ``build`` writes the page.
"""
