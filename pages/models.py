"""Models: every entry of the registry (models.yaml), what it is, and whether it works here."""

import pandas as pd
import streamlit as st

from ui.app import page, session
from ui.text import MISSING, md
from ui.compute import models
from ui.views import models as registry_view

page.setup("Models", script="pages/models.py", heading="Models")
with session.guard("the Models page"):
    registry = models.registry()
    available = models.availability()
    st.markdown(f"The registry {md(registry.path.name)} lists {len(available)} models. A model whose weights are "
                "not available offline is listed but cannot be picked in the sidebar. GAP check: the model's "
                "logits must equal its classifier applied to the global average of the feature map, which makes "
                "CAM exact.")
    checked = st.session_state.setdefault("_checked_models", set())
    current = st.session_state.get("model_name")
    if current in registry.specs and available.get(current, (False,))[0]:
        checked.add(current)
    usable = [n for n in registry.specs if available[n][0]]
    if st.button(f"Load and check all {len(usable)} available models", key="check_all",
                 disabled=checked.issuperset(usable)):
        checked.update(usable)

    rows = registry_view.model_rows(registry, available, registry_view.facts_of, checked)
    st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder=MISSING, width="stretch", key="models_table")
    st.caption("Models are loaded only when needed (the one picked in the sidebar, or all with the button) and "
               "then cached for every user of this server. Weights that are not here download into torch's or "
               "Hugging Face's cache the first time the model is picked (once per machine). Sizes: the file "
               "itself when it is here; otherwise torchvision's published metadata, or for timm an estimate "
               "from the architecture (its tensors x 4 bytes), as the 'size from' column says.")

    for name, spec in registry.specs.items():
        ok, detail = available[name]
        with st.expander(md(f"{name}: {spec.title}"), expanded=False):
            st.markdown(registry_view.entry_text(spec, ok, detail, registry.path))
            facts, failure = registry_view.facts_of(name) if name in checked and ok else (None, None)
            if failure:
                st.warning(md(f"Cannot be loaded: {failure}"))
            if facts:
                st.markdown(registry_view.facts_text(facts))

    st.subheader("Methods")
    st.caption("Built-in methods, then plug-ins (packages that declare an `explainers.methods` entry point). "
               "A plug-in that failed to load is listed with its error; the others work.")
    st.dataframe(pd.DataFrame(registry_view.method_rows()), hide_index=True, placeholder=MISSING, width="stretch", key="methods_table")
