"""Published results as traces: a paper's accuracy tables beside nmsim's cost (docs/published.md).

``pgf_tables.yaml`` holds [PGF]'s (Bambhaniya et al., arXiv:2402.04744) accuracy tables, training setups
and speedup tables; :mod:`~nmsim.published.tables` loads and validates it, :mod:`~nmsim.published.rows`
expands it into one row per (model, recipe, target, scope, variant), :mod:`~nmsim.published.schedule`
derives each row's training phases and :mod:`~nmsim.published.build` writes one trace per row.
"""
