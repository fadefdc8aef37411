"""The dashboard's support code (``streamlit run dashboard.py``), by concern; the pages in ``pages/`` lay these out.

- ``app``: what every page shares: the setup call (page config, login gate, navigation, sidebar), the
  session's choices, the view in the URL, who is using it, the store, text escaping, the warm start.
- ``compute``: cached work: models, photos, explanations, the comparison of two conditions, faithfulness.
- ``figures``: pure Plotly and numpy builders (no Streamlit): maps, scales, evaluation and review charts.
- ``exports``: downloads: files built from results (pure), the offline HTML reports, the download buttons.
- ``widgets``: inputs built from the registries (methods' declared parameters, models, classes, display).
- ``views``: the sections a page draws: Evaluate, Review, Workspace, Models.

The library (``explainers``) and the team layer (``explainers_team``) never import this package.
"""

from pathlib import Path

#: The dashboard's folder: ``dashboard.py``, ``pages/``, the top-level ``models.yaml``.
APP_DIR = Path(__file__).resolve().parents[1]
