"""The evaluate subcommand end to end on real photos, and the summary maths."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from explainers.cli import main
from explainers.errors import CamNotExactError, ParameterError
from explainers.evaluate import COLUMNS, collect_photos, mean_interval, photo_keys, read_labels_csv, true_class

from photos import skimage_photo

#: photos that ship with scikit-image, so the end-to-end tests run on any clone
PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg"]
METHODS = ["cam", "secam", "gradcam", "lime", "random"]


@pytest.fixture
def photo_dir(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(skimage_photo(Path(name).stem), folder / name)
    return folder


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_cli_end_to_end_with_labels_and_a_bad_photo(photo_dir, tmp_path, capsys):
    (photo_dir / "broken.jpg").write_bytes(b"not a jpeg")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,class_index\n" + "".join(f"{n},{c}\n" for n, c in zip(PHOTOS, [285, 967, 15]))
                      + "broken.jpg,1\n")
    out = tmp_path / "out"
    code = main(["evaluate", str(photo_dir), "--out", str(out), "--labels", str(labels), "--lime-num-samples", "10",
                 "--steps", "4", "--overlays", "--no-progress", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1  # one bad photo: the others are still evaluated
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        line for line in err.splitlines() if "broken.jpg" in line]
    assert len([line for line in err.splitlines() if "broken.jpg" in line]) == 1

    rows = read_rows(out / "results.csv")
    assert list(rows[0]) == list(COLUMNS)
    assert sorted({r["file"] for r in rows}) == sorted(PHOTOS)
    assert [r["method"] for r in rows[:5]] == METHODS
    for r in rows:
        assert 0 <= float(r["deletion_auc"]) <= 1 and 0 <= float(r["insertion_auc"]) <= 1
        assert r["true_class"] == r["class_index"]  # with labels the true class is explained
    assert all(r["kept_fraction"] for r in rows if r["method"] in ("secam", "lime"))

    summary = json.loads((out / "summary.json").read_text())
    assert summary["photos"] == 3 and summary["failed"] == 1 and summary["model"] == "efficientnet_lite0"
    assert list(summary["methods"]) == METHODS
    assert summary["accuracy"]["n"] == 3 and 0 <= summary["accuracy"]["top1"] <= 1
    cam = summary["methods"]["cam"]
    assert cam["deletion_auc"]["n"] == 3
    low, high = cam["deletion_auc"]["ci95"]
    assert low <= cam["deletion_auc"]["mean"] <= high
    assert len(cam["curves"]["deletion"]) == 5
    assert summary["params"]["lime"]["num_samples"] == 10
    assert len(list((out / "overlays").glob("*.jpg"))) == 3 * 4


@pytest.mark.slow
def test_cli_without_labels_explains_the_top_class(photo_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["evaluate", str(photo_dir / "c*.png"), "--limit", "1", "--methods", "cam",
                 "--out", str(out), "--steps", "2", "--no-progress", "--device", "cpu"])
    assert code == 0
    rows = read_rows(out / "results.csv")
    assert [r["method"] for r in rows] == ["cam", "random"]
    assert rows[0]["class_index"] == rows[0]["predicted_class"] and rows[0]["true_class"] == ""
    assert json.loads((out / "summary.json").read_text())["accuracy"] is None


def test_cli_refuses_bad_options_before_any_work(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no image files" in capsys.readouterr().err
    (tmp_path / "a.jpg").write_bytes(b"x")
    assert main(["evaluate", str(tmp_path), "--out", str(tmp_path / "o"), "--steps", "0"]) == 2
    assert "--steps must be in [1, 1000]" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path), "--out", str(tmp_path / "o"), "--limit", "0"]) == 2
    assert "--limit must be >= 1" in capsys.readouterr().err


def test_collect_photos_and_labels(tmp_path):
    for name in ("b.jpg", "a.PNG", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in collect_photos(tmp_path)] == ["a.PNG", "b.jpg"]
    assert [p.name for p in collect_photos(str(tmp_path / "*.jpg"))] == ["b.jpg"]
    labels = tmp_path / "labels.csv"
    labels.write_text("file,class_index,name\ndir/a.PNG,3,x\n")
    assert read_labels_csv(labels) == {"dir/a.PNG": 3}
    assert true_class(read_labels_csv(labels), "a.PNG") == 3
    labels.write_text("file,class\na.PNG,3\n")
    with pytest.raises(ParameterError, match="class_index"):
        read_labels_csv(labels)
    labels.write_text("file,class_index\na.PNG,three\n")
    with pytest.raises(ParameterError, match="line 2"):
        read_labels_csv(labels)


def test_mean_interval_is_a_bootstrap_percentile_interval():
    # two values a, b: a resampled mean is a (1/4), (a+b)/2 (1/2) or b (1/4), so the 2.5th and 97.5th
    # percentiles are a and b exactly; a Student-t interval went from -0.33 to 0.49 on AUCs like these
    result = mean_interval([0.02, 0.14])
    assert result["n"] == 2 and result["mean"] == pytest.approx(0.08)
    assert result["ci95"] == pytest.approx([0.02, 0.14])
    rng = np.random.default_rng(1)
    for n in (2, 3, 5, 30):
        values = rng.beta(0.3, 0.3, n)  # AUC-like values piled up near 0 and 1
        low, high = mean_interval(values)["ci95"]
        assert values.min() <= low <= np.mean(values) <= high <= values.max()
    assert mean_interval([1.0, 2.0, 3.0]) == mean_interval([1.0, 2.0, 3.0])  # seeded: the same every time
    assert mean_interval([5.0]) == {"n": 1, "mean": 5.0, "ci95": None}
    assert mean_interval([None, None])["mean"] is None


def test_make_explainers_refuses_cam_on_a_non_gap_model(two_layer_model):
    from explainers.evaluate import make_explainers

    with pytest.raises(CamNotExactError, match="use one of gradcam, lime"):
        make_explainers(["cam"], two_layer_model)
    made = make_explainers(["gradcam", "lime"], two_layer_model, {"lime": {"num_samples": 10}})
    assert list(made) == ["gradcam", "lime"] and made["lime"].params["num_samples"] == 10
    with pytest.raises(ParameterError, match="'secam', which is not among the methods"):
        make_explainers(["gradcam"], two_layer_model, {"secam": {"threshold": 0.5}})
    with pytest.raises(ParameterError, match="num_samples"):
        make_explainers(["lime"], two_layer_model, {"lime": {"num_samples": 1}})
    with pytest.raises(ParameterError, match="repeated"):
        make_explainers(["gradcam", "gradcam"], two_layer_model)


def test_two_photos_with_one_name_in_two_folders_stay_two_rows(tmp_path, default_model):
    """Results are keyed by the path relative to the run's folder, so cats/a.jpg and dogs/a.jpg are two rows
    (by file name they collapsed into one)."""
    from skimage import data as skdata
    from PIL import Image

    from explainers.evaluate import evaluate_photos, make_explainers

    for folder, image in (("cats", skdata.chelsea()), ("dogs", skdata.astronaut())):
        (tmp_path / folder).mkdir()
        Image.fromarray(image).save(tmp_path / folder / "a.jpg")
    photos = collect_photos(str(tmp_path / "*" / "a.jpg"))
    assert photo_keys(photos) == ["cats/a.jpg", "dogs/a.jpg"]
    labels = {"cats/a.jpg": 285, "dogs/a.jpg": 834}
    results, failures = evaluate_photos(default_model, photos, make_explainers(["cam"], default_model), labels,
                                        steps=2)
    assert failures == []
    assert [(r.file, r.method, r.true_class) for r in results] == [
        ("cats/a.jpg", "cam", 285), ("cats/a.jpg", "random", 285), ("dogs/a.jpg", "cam", 834),
        ("dogs/a.jpg", "random", 834)]
    with pytest.raises(ParameterError, match="ambiguously"):
        true_class({"cats/a.jpg": 1, "dogs/a.jpg": 2}, "a.jpg")
