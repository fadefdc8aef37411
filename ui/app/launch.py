"""Start the dashboard with a warm start: ``python -m ui.app.launch [streamlit options]``.

Streamlit has no start-up hook: a page's code runs only when someone visits.
This launcher starts a background thread that loads the default model and
explains the default sample (forward pass, superpixels, the two default
methods) through the very cached functions the pages call (``ui.cache``, whose
``st.cache_resource`` caches are process-wide), then runs ``streamlit run
dashboard.py`` in the same process. The first visitor finds everything cached;
one who arrives earlier waits on the same cache entry instead of loading twice.

``bash scripts/dashboard.sh`` uses it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from .. import APP_DIR

log = logging.getLogger("ui.app.launch")
#: Set when the warm start has finished (or failed: see ``WARM["error"]``).
WARMED = threading.Event()
WARM: dict = {}


def warm(model_name: str | None = None, sample: str | None = None) -> dict:
    """Load ``model_name`` and explain ``sample`` with the default methods and settings, into the page caches.

    Returns
    -------
    dict
        Seconds of each step (``model``, ``explain``).
    """
    import explainers

    from ..compute import explanations, models, photos
    from . import session

    model_name = model_name or session.DEFAULT_MODEL
    sample = sample or session.DEFAULT_SAMPLE
    t0 = time.perf_counter()
    models.availability()  # the sidebar's model list (reads models.yaml and checks every entry's weights)
    model = models.get_model(model_name)
    t1 = time.perf_counter()
    image = photos.sample_image(sample)
    key = f"sample:{sample}"
    photos.display_image(key, image)
    forward = explanations.forward_pass(model_name, key, model, image)
    defaults = session.DEFAULTS
    selection = session.Selection(model_name=model_name, image_key=key, image_name=sample, topk=defaults["topk"],
                                  n_segments=defaults["n_segments"], compactness=float(defaults["compactness"]),
                                  slic_max_side=0 if defaults["slic_full"] else explanations.SLIC_MAX_SIDE)
    found = []
    for method in session.DEFAULT_METHODS:
        if method in explainers.EXPLAINERS:
            condition = explanations.condition(model_name, method, selection, float(defaults["threshold"]))
            found += explanations.explanations(condition, key, image, forward.top(1))
    t2 = time.perf_counter()
    # the first page run would otherwise pay for importing and warming the figure and table code
    import pandas  # noqa: F401  (imported here so the first page run does not pay for it)

    from ..figures import maps, scales

    photo = photos.display_image(key, image)
    panels = [maps.map_panel(photo, e, title=e.method, colorscale=scales.COLORSCALES[0]) for e in found]
    if panels:
        maps.panels_figure(panels).to_json()
    return {"model": t1 - t0, "explain": t2 - t1, "figures": time.perf_counter() - t2}


def _warm_in_background() -> None:
    # the cached functions run outside a page here: Streamlit warns once per call that there is no page context
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    from streamlit import runtime

    deadline = time.monotonic() + 60
    while not runtime.exists() and time.monotonic() < deadline:  # st.cache_data then uses the server's storage
        time.sleep(0.05)
    try:
        WARM.update(warm())
        log.warning("warm start: the default model loaded in %.1f s, the default sample explained in %.1f s, "
                    "figures warmed in %.1f s", WARM["model"], WARM["explain"], WARM["figures"])
    except Exception as exc:  # noqa: BLE001 - a failed warm start only means a slower first visit
        WARM["error"] = f"{type(exc).__name__}: {exc}"
        log.warning("warm start failed (the first visit will load the model): %s", WARM["error"])
    finally:
        WARMED.set()


def main(argv: list[str] | None = None) -> int:
    """Start the warm-up thread, then ``streamlit run dashboard.py`` with ``argv`` (Streamlit's options)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.path.insert(0, str(APP_DIR))
    threading.Thread(target=_warm_in_background, name="dashboard-warm-start", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP_DIR / "dashboard.py"), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
