"""Support code of the Streamlit dashboard (``streamlit run dashboard.py``).

``figures`` and ``analysis`` and ``exports`` are pure (no Streamlit import) and
unit-tested; ``state`` holds the caches and the session's choices, ``sidebar``
the shared sidebar. The library in ``explainers/`` never imports this package.
"""
