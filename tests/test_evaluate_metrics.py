"""Metrics reach the evaluation: ``evaluate --metrics``/``--sanity``, results.csv and summary.json, the Evaluate page.

Kept small for a shared 2-core machine: the tiny synthetic model for the library, two photos and a few
curve steps for the command line and the page. A plug-in metric (the real entry-point distribution of
``test_metric_plugins``) appears in the CLI (a subprocess that only has it on ``PYTHONPATH``) and on the
page (registered in this process) with no edit elsewhere.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from explainers.cli import main  # noqa: E402
from explainers.errors import ParameterError  # noqa: E402
from explainers.evaluate import (COLUMNS, comparisons, evaluate_photos, make_explainers, make_metrics,  # noqa: E402
                                 result_columns, results_csv, summarize, summary_document, verdict, verdict_rows)
from explainers.evaluate.run import MapToMeasure, measure_maps  # noqa: E402
from explainers.metrics import faithfulness, paired_comparison, random_saliency  # noqa: E402
from explainers.models.labels import imagenet_class_from_name, imagenet_labels, imagenet_wnids  # noqa: E402
from ui.figures.evaluation import agreement_figure, time_summary_figure  # noqa: E402
from ui.figures.scales import paint  # noqa: E402
from ui.views import evaluate  # noqa: E402

from conftest import sample_dir, shown  # noqa: E402
from photos import sample_reason, skimage_photo  # noqa: E402
from test_dashboard_evaluate import png  # noqa: E402
from test_metric_plugins import installed, plugin_dir  # noqa: E402,F401 (a fixture)

TIMEOUT = 300


# -- the library: the seam, the rows, the summary ----------------------------------------------
def test_the_default_seam_measures_deletion_and_insertion_as_faithfulness_does(tiny_model):
    image = np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8)
    maps = [MapToMeasure(tiny_model, image, random_saliency((40, 48), seed=s), 1) for s in (1, 2)]
    measured = measure_maps(maps, steps=4)
    for m, found in zip(maps, measured):
        alone = faithfulness(tiny_model, image, m.saliency, 1, steps=4)
        assert list(found.scores) == ["deletion", "insertion"]
        assert found.scores["deletion"] == pytest.approx(alone.deletion_auc, abs=1e-6)
        assert found.scores["insertion"] == pytest.approx(alone.insertion_auc, abs=1e-6)
        assert np.allclose(found.curves.deletion, alone.deletion, atol=1e-6)
    with pytest.raises(ParameterError, match="to the metrics themselves"):
        measure_maps(maps, metrics=make_metrics(["deletion"]), steps=4)


def test_chosen_metrics_reach_every_row_the_csv_and_the_summary(tiny_model, tmp_path):
    photos = [("a.png", png((32, 32), 1)), ("b.png", png((32, 32), 2)), ("c.png", png((32, 32), 3))]
    metrics = make_metrics(["average_drop", "deletion"], {"deletion": {"steps": 2}})
    results, failures = evaluate_photos(tiny_model, photos, make_explainers(["cam"], tiny_model), metrics=metrics)
    assert not failures and len(results) == 6
    for r in results:
        assert list(r.scores) == ["average_drop", "deletion"] and r.insertion_auc is None
        assert r.deletion_auc == r.scores["deletion"]
    rows = list(csv.DictReader(io.StringIO(results_csv(results))))
    assert list(rows[0]) == list(result_columns(["average_drop", "deletion"]))
    assert "average_drop" in rows[0] and list(rows[0])[: len(COLUMNS) - 4] == list(COLUMNS)[: len(COLUMNS) - 4]
    assert [float(row["average_drop"]) for row in rows] == pytest.approx([r.scores["average_drop"] for r in results])
    summary = summarize(results)
    assert summary["metrics"] == ["average_drop", "deletion"]
    cam = [r.scores["average_drop"] for r in results if r.method == "cam"]
    assert summary["methods"]["cam"]["average_drop"]["mean"] == pytest.approx(np.mean(cam))
    document = summary_document(results, [], model="tiny", device="cpu", explainers={}, steps=2, metrics=metrics)
    [pair] = document["comparisons"]
    assert (pair["method_a"], pair["method_b"]) == ("cam", "random")
    assert [c["metric"] for c in pair["comparisons"]] == ["average_drop", "deletion"]
    assert pair["agreement"]["metrics"] == ["average_drop", "deletion"]
    assert document["metric_params"]["deletion"]["params"]["steps"] == 2
    assert json.loads(json.dumps(document)) == document  # JSON-ready
    pq = pytest.importorskip("pyarrow.parquet")
    from explainers.evaluate.outputs import write_parquet

    write_parquet(results, tmp_path / "results.parquet")  # what the Ray engine writes: the same metric columns
    table = pq.read_table(tmp_path / "results.parquet")
    assert table.column_names[: len(rows[0])] == list(rows[0])
    assert table.column("average_drop").to_pylist() == pytest.approx([r.scores["average_drop"] for r in results])


def test_verdicts_say_who_wins_by_how_much_or_no_difference():
    a = np.linspace(0.1, 0.3, 30)
    c = paired_comparison(a, a + 0.05, metric="deletion", direction="lower", method_a="cam", method_b="secam")
    text = verdict(c)
    assert text.startswith("Deletion AUC (lower is better): cam beats secam by 0.05 (95% interval 0.05 to 0.05")
    assert "better on 30 of 30 photos" in text
    noise = np.random.default_rng(0).normal(0, 0.1, 30)
    same = paired_comparison(a, a + noise - noise.mean(), metric="insertion", direction="higher",
                             method_a="cam", method_b="secam")
    assert same.winner is None and "no difference between cam and secam on 30 photos" in verdict(same)


# -- the command line -------------------------------------------------------------------------
def test_metrics_list_and_an_unknown_metric_name_the_registered_ones(capsys):
    assert main(["evaluate", "--metrics", "list"]) == 0
    listed = capsys.readouterr().out
    assert "road_morf" in listed and "irof" in listed and "(lower is better)" in listed
    assert main(["evaluate", "photos", "--out", "x", "--metrics", "deletion,nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric 'nope'" in err and "deletion, insertion, road_morf" in err and "Traceback" not in err


def test_a_plugin_metric_appears_in_the_cli_choice(plugin_dir):  # noqa: F811 (the fixture)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), str(ROOT)])}
    listed = subprocess.run([sys.executable, "-m", "explainers", "evaluate", "--metrics", "list"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert listed.returncode == 0, listed.stderr
    assert "keeptop" in listed.stdout and "[from keeptop-plugin]" in listed.stdout
    assert "brokenmetric" in listed.stdout and "FAILED" in listed.stdout
    wrong = subprocess.run([sys.executable, "-m", "explainers", "evaluate", "x", "--out", "y", "--metrics", "kept"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert wrong.returncode == 2 and "keeptop" in wrong.stderr.splitlines()[-1]


@pytest.mark.slow
def test_cli_measures_the_chosen_metrics_compares_methods_and_checks_sanity(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("chelsea", "coffee"):
        shutil.copy(skimage_photo(name), folder / skimage_photo(name).name)
    out = tmp_path / "out"
    code = main(["evaluate", str(folder), "--out", str(out), "--methods", "cam,secam",
                 "--metrics", "deletion,insertion,average_drop", "--steps", "2", "--sanity", "--sanity-photos", "1",
                 "--sanity-layers", "2", "--no-progress", "--device", "cpu"])
    printed = capsys.readouterr().out
    assert code == 0
    with (out / "results.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(result_columns(["deletion", "insertion", "average_drop"]))
    assert len(rows) == 6 and all(row["average_drop"] for row in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"] == ["deletion", "insertion", "average_drop"]
    assert [(c["method_a"], c["method_b"]) for c in summary["comparisons"]] == [
        ("cam", "secam"), ("cam", "random"), ("secam", "random")]
    assert summary["methods"]["cam"]["average_drop"]["n"] == 2
    assert set(summary["sanity"]) == {"cam", "secam"} and len(summary["sanity"]["cam"]["layers"]) == 2
    # the verdicts in words, one line per pair and metric, and pass/fail per method
    assert "cam vs secam:" in printed and "Average Drop (lower is better): " in printed
    for method, check in summary["sanity"].items():
        assert f"{method}: {'PASS' if check['passed'] else 'FAIL'} (mean Spearman" in printed


# -- the Evaluate page --------------------------------------------------------------------------
def evaluate_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.session_state["sample"] = "chelsea"
    at.run()
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.multiselect(key="evaluate_methods").set_value(["cam"])
    at.slider(key="evaluate_steps").set_value(2)
    return at


def test_the_page_offers_a_plugin_metric_and_shows_verdicts_agreement_and_true_classes(plugin_dir):  # noqa: F811
    with installed(plugin_dir):
        at = evaluate_page()
        picker = at.multiselect(key="evaluate_metrics")
        assert "keeptop" in picker.options[-1] or "Keep top" in picker.options[-1]
        assert picker.value == ["deletion", "insertion"]
        at.radio(key="evaluate_source").set_value("Upload photos").run()
        # ImageNet-style names: n01440764 is class 0 (tench), n02123045 class 281 (tabby)
        at.file_uploader(key="evaluate_uploads").set_value([
            ("n01440764_1.png", png(seed=1), "image/png"), ("n02123045_2.png", png(seed=2), "image/png")]).run()
        at.multiselect(key="evaluate_metrics").set_value(["deletion", "keeptop"])
        at.button(key="evaluate_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [shown(e.value) for e in at.error]
    verdicts = at.dataframe[0].value
    assert list(verdicts["metric"]) == ["Deletion AUC", "Keep top"]
    assert all(v.startswith(("Deletion AUC (lower is better): ", "Keep top (higher is better): "))
               for v in verdicts["verdict"])
    table = at.dataframe[2].value
    assert "keeptop" in table.columns and table["keeptop"].notna().all()
    assert list(table["true_class"]) == [0, 0, 281, 281] and (table["class_index"] == table["true_class"]).all()
    assert at.selectbox(key="evaluate_agreement_pair").value == "cam vs random"
    [heatmap] = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.key == "evaluate_agreement"]
    assert heatmap["data"][0]["type"] == "heatmap" and heatmap["data"][0]["x"] == ["Deletion AUC", "Keep top"]


def test_the_page_runs_the_sanity_check_when_asked(monkeypatch):
    monkeypatch.setattr(evaluate, "SANITY_PHOTOS", 1)
    at = evaluate_page()
    at.radio(key="evaluate_source").set_value("Upload photos").run()
    at.file_uploader(key="evaluate_uploads").set_value([("a.png", png(seed=1), "image/png")]).run()
    at.toggle(key="evaluate_sanity").set_value(True)
    at.button(key="evaluate_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    sanity = at.dataframe[1].value  # the verdicts, the sanity check, the summary, the results
    assert list(sanity["method"]) == ["cam"] and sanity["result"].iloc[0] in ("passes", "fails")
    assert sanity["in words"].iloc[0].startswith(f"cam: {'PASS' if sanity['result'].iloc[0] == 'passes' else 'FAIL'}")
    assert any("Rule: a method passes when" in shown(c.value) for c in at.caption)


# -- the small things of issue 19 ----------------------------------------------------------------
def test_imagenet_file_names_carry_their_class():
    assert len(imagenet_wnids()) == 1000 == len(set(imagenet_wnids()))
    assert imagenet_class_from_name("n01440764_10026.JPEG") == 0
    assert imagenet_class_from_name("/photos/n02123045_cat.jpg") == 281 and imagenet_labels()[281] == "tabby"
    for name in ("holiday.jpg", "n99999999_x.jpg", "n014407641.jpg", "xn01440764_1.jpg"):
        assert imagenet_class_from_name(name) is None


def test_the_samples_labels_agree_with_its_file_names():
    if sample_dir() is None or not (sample_dir() / "labels.csv").is_file():
        pytest.skip(sample_reason())
    with (sample_dir() / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(imagenet_class_from_name(row["file"]) == int(row["class_index"]) for row in rows)


def test_upload_labels_need_every_name_and_an_imagenet_model(tiny_model, default_model):
    assert evaluate.upload_labels(["n01440764_1.png", "n02123045.png"], default_model) == {
        "n01440764_1.png": 0, "n02123045.png": 281}
    assert evaluate.upload_labels(["n01440764_1.png", "holiday.png"], default_model) is None
    assert evaluate.upload_labels(["n01440764_1.png"], tiny_model) is None  # three classes, not ImageNet's


def test_skipped_photo_is_named_once():
    assert evaluate.skipped_text("x.jpg", "x.jpg: cannot decode") == "x.jpg was skipped: cannot decode"
    assert evaluate.skipped_text("x.jpg", "too big") == "x.jpg was skipped: too big"


def test_time_chart_starts_at_zero():
    summary = {"methods": {"cam": {"explain_s": {"n": 2, "mean": 0.55, "ci95": [0.5, 0.6]}},
                           "secam": {"explain_s": {"n": 2, "mean": 0.66, "ci95": [0.6, 0.7]}}}}
    fig = time_summary_figure(summary)
    assert fig.layout.yaxis.type in (None, "linear") and fig.layout.yaxis.rangemode == "tozero"


def test_agreement_figure_shows_tau_per_pair_of_metrics():
    agreement = {"metrics": ["deletion", "irof"], "tau": [[1.0, -0.4], [-0.4, 1.0]],
                 "p_values": [[0.0, 0.2], [0.2, 0.0]], "n": [[9, 9], [9, 9]]}
    fig = agreement_figure(agreement)
    assert list(fig.data[0].x) == ["Deletion AUC", "IROF"] and fig.data[0].text[0][1] == "-0.40"
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-1, 1)


def test_gallery_uses_the_sessions_colour_scale(tiny_model):
    outcome = next(iter(evaluate.iter_evaluate(tiny_model, [("a.png", png((32, 32), 1))],
                                               make_explainers(["cam"], tiny_model), steps=2)))
    viridis = evaluate.gallery_row(outcome, colorscale="Viridis")["tiles"][1][1]
    jet = evaluate.gallery_row(outcome, colorscale="Jet")["tiles"][1][1]
    saliency = outcome.explanations["cam"].saliency.astype(np.float32)
    expected = paint(outcome.image, saliency, "Viridis", evaluate.GALLERY_OPACITY, float(saliency.min()),
                     float(saliency.max()))
    assert np.array_equal(viridis, expected) and not np.array_equal(viridis, jet)
    assert evaluate.gallery_row.__defaults__[-1] == "Viridis"


def test_comparisons_cover_every_pair_in_row_order(tiny_model):
    photos = [(f"{i}.png", png((32, 32), i)) for i in range(3)]
    results, _ = evaluate_photos(tiny_model, photos, make_explainers(["cam", "gradcam"], tiny_model), steps=2)
    found = comparisons(results)
    assert [(c.method_a, c.method_b) for c in found] == [("cam", "gradcam"), ("cam", "random"),
                                                         ("gradcam", "random")]
    rows = verdict_rows(found)
    assert len(rows) == 6 and {r["metric"] for r in rows} == {"Deletion AUC", "Insertion AUC"}


def test_sanity_subcommand_prints_pass_or_fail_per_method(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(skimage_photo("chelsea"), folder / "chelsea.png")
    (tmp_path / "labels.csv").write_text("file,class_index\nchelsea.png,285\n")
    out = tmp_path / "sanity.json"
    code = main(["sanity", str(folder), "--methods", "cam", "--labels", str(tmp_path / "labels.csv"), "--limit", "1",
                 "--layers", "2", "--json", str(out), "--device", "cpu"])
    printed = capsys.readouterr().out
    assert code == 0
    check = json.loads(out.read_text())["checks"]["cam"]
    assert check["classes"] == [285] and check["layers"] == ["classifier", "bn2"]
    assert f"cam: {'PASS' if check['passed'] else 'FAIL'} (mean Spearman {np.mean(check['scores']):.2f}" in printed
    assert "rule: a method passes when" in printed
    assert main(["sanity", str(folder), "--limit", "0"]) == 2
    assert "--limit must be >= 1" in capsys.readouterr().err


def test_evaluation_stats_uses_the_librarys_paired_comparison(tmp_path):
    rng = np.random.default_rng(3)
    cam, secam = rng.uniform(0.1, 0.3, 12), rng.uniform(0.1, 0.3, 12) + 0.05
    columns = result_columns(["deletion", "irof"])
    lines = [",".join(columns)]
    for i in range(12):
        for method, value in (("cam", cam[i]), ("secam", secam[i])):
            row = dict.fromkeys(columns, "")
            row.update(file=f"{i}.jpg", method=method, deletion_auc=repr(float(value)), irof=repr(float(1 - value)),
                       explain_s="0.1")
            lines.append(",".join(str(row[c]) for c in columns))
    (tmp_path / "results.csv").write_text("\n".join(lines) + "\n")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluation_stats.py"), str(tmp_path)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    order = sorted(range(12), key=lambda i: f"{i}.jpg")  # the script pairs the photos in file-name order
    expected = paired_comparison(secam[order], cam[order], metric="deletion", direction="lower", method_a="secam",
                                 method_b="cam")
    cell = (f"{expected.mean_difference:+.3f} ({expected.ci_low:+.3f} to {expected.ci_high:+.3f}), "
            f"p = {expected.p_value:.2g}, r = {expected.rank_biserial:+.2f}, {expected.a_better_on}/12")
    assert cell in proc.stdout
    assert f"- {verdict(expected)}" in proc.stdout
    assert "| Deletion AUC | +1.00 |" in proc.stdout  # the agreement matrix's diagonal
