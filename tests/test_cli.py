"""The command line end to end on a real photo."""

import json
import subprocess
import sys

import numpy as np

from photos import ROOT, skimage_photo

PHOTO = skimage_photo("chelsea")  # ships with scikit-image: (300, 451), top-1 'Egyptian cat' (285)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "explainers", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_explain_secam_writes_overlays_maps_and_results(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("explain", PHOTO, "--model", "efficientnet_lite0", "--method", "secam", "--topk", "2",
                   "--n-segments", "30", "--threshold", "0.7", "--out", out)
    assert proc.returncode == 0, proc.stderr
    for i in (0, 1):
        assert (out / f"SeCAM_chelsea_seg_30_ts_0.7_{i}.jpg").stat().st_size > 1000
        saliency = np.load(out / f"SeCAM_chelsea_seg_30_ts_0.7_{i}.npy")
        assert saliency.shape == (300, 451) and saliency.dtype == np.float32
    results = json.loads((out / "results.json").read_text())
    [image] = results["images"]
    assert results["method"] == "secam" and results["params"]["n_segments"] == 30
    top = image["predictions"][0]
    assert top["rank"] == 0 and top["class_index"] == 285 and top["label"] == "Egyptian cat"
    assert {"forward", "slic", "scoring"} <= set(top["timings"])
    assert sum(s["area"] for s in top["segments"]) == 300 * 451
    assert any(s["kept"] for s in top["segments"])


def test_explain_cam_names_files_as_the_tutorial(tmp_path):
    proc = run_cli("explain", PHOTO, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "CAM_chelsea_0.jpg").exists() and (tmp_path / "CAM_chelsea_0.npy").exists()


def test_errors_are_one_line_without_traceback(tmp_path):
    proc = run_cli("explain", PHOTO, "--model", "nope", "--out", tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "unknown model 'nope'" in proc.stderr and "efficientnet_lite0" in proc.stderr
    proc = run_cli("explain", PHOTO, "--method", "secam", "--threshold", "1.5", "--out", tmp_path)
    assert proc.returncode != 0 and "`threshold` must be in [0.0, 1.0], got 1.5" in proc.stderr


def test_models_lists_the_registry_with_offline_status():
    proc = run_cli("models")
    assert proc.returncode == 0
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert "offline" in lines["efficientnet_lite0"]
    assert "needs download" in lines["resnet50"]


def test_same_file_name_in_two_folders_keeps_both_outputs(tmp_path):
    import shutil

    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(PHOTO, tmp_path / sub / "photo.jpg")
    proc = run_cli("explain", tmp_path / "a" / "photo.jpg", tmp_path / "b" / "photo.jpg", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "CAM_photo_0.jpg").exists() and (tmp_path / "out" / "CAM_photo_2_0.jpg").exists()
    images = json.loads((tmp_path / "out" / "results.json").read_text())["images"]
    assert [p["files"][0] for i in images for p in i["predictions"]] == ["CAM_photo_0.jpg", "CAM_photo_2_0.jpg"]


def test_bad_topk_is_reported_once_before_any_image(tmp_path):
    proc = run_cli("explain", PHOTO, PHOTO, "--topk", "5000", "--out", tmp_path / "out")
    assert proc.returncode != 0 and proc.stderr.count("error:") == 1
    assert "`topk` must be in [1, 1000], got 5000" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_method_flags_come_from_the_declared_parameters(tmp_path):
    proc = run_cli("explain", "--help")
    assert proc.returncode == 0
    for flag in ("--n-segments", "--compactness", "--threshold", "--slic-max-side", "--num-samples", "--kernel-width"):
        assert flag in proc.stdout
    assert "--segments " not in proc.stdout  # the old spelling is still accepted, but not advertised
    # a flag of another method says whose it is, before any work
    proc = run_cli("explain", PHOTO, "--n-segments", "30", "--out", tmp_path / "o")
    assert proc.returncode == 2 and "--n-segments does not apply to --method cam" in proc.stderr
    assert "secam, lime" in proc.stderr and not (tmp_path / "o").exists()
    proc = run_cli("explain", PHOTO, "--method", "lime", "--num-samples", "many", "--out", tmp_path / "o")
    assert proc.returncode == 2 and "`num_samples` must be int in [10, 100000], got 'many'" in proc.stderr
    # the old --segments is an alias of --n-segments
    proc = run_cli("explain", PHOTO, "--method", "secam", "--segments", "20", "--out", tmp_path / "old")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "old" / "results.json").read_text())["params"]["n_segments"] == 20


def test_methods_lists_every_method_with_its_parameters():
    proc = run_cli("methods")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    names = [line.split()[0] for line in lines if not line.startswith(" ")]
    assert names[:4] == ["cam", "secam", "gradcam", "lime"]
    secam = next(line for line in lines if line.startswith("secam"))
    assert "[from explainers]" in secam and "head: GAP + linear" in secam and "superpixels: yes" in secam
    assert "head: any" in next(line for line in lines if line.startswith("gradcam"))
    assert any(line.strip().startswith("--n-segments") and "default 50" in line for line in lines)
    facts = json.loads(run_cli("methods", "--json").stdout)
    assert facts["plugin_errors"] == {} and facts["methods"][1]["parameters"][0]["name"] == "n_segments"


def test_explain_a_folder_explains_its_image_files_in_order(tmp_path):
    import shutil

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("b_cat.png", "a_cat.jpg"):
        shutil.copy(PHOTO, folder / name)
    (folder / "notes.txt").write_text("not a photo")
    proc = run_cli("explain", folder, "--topk", "2", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    images = json.loads((tmp_path / "out" / "results.json").read_text())["images"]
    assert [image["image"] for image in images] == [str(folder / "a_cat.jpg"), str(folder / "b_cat.png")]
    assert [p["class_index"] for p in images[0]["predictions"]] == [285, images[0]["predictions"][1]["class_index"]]
    for stem in ("a_cat", "b_cat"):
        for rank in (0, 1):
            assert np.load(tmp_path / "out" / f"CAM_{stem}_{rank}.npy").shape == (300, 451)
