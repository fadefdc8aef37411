"""Support code of the Streamlit dashboard (``streamlit run dashboard.py``), one concern per module.

Pure (no Streamlit import, unit-tested): ``scales`` (normalisations, colours, the painted
pictures), ``figures`` (Plotly builders), ``analysis``, ``exports``, ``report`` (the offline HTML).
With Streamlit: ``session`` (every session key, in one list), ``gallery`` (photos), ``cache``
(models, forward passes, superpixels, explanations of any registered method), ``faithfulness``
(curves on demand), ``comparison`` (what Compare and Explain show), ``widgets``, ``downloads``,
``sidebar``, ``page`` (the call every page starts with), ``launch`` (warm start). ``state`` only
re-exports for older pages. The library in ``explainers/`` never imports this package.
"""
