"""A hand-edited registry with one broken entry of each kind: each gets a clear message naming
the entry, the other entries keep working, and a weights file that carries code never runs."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

import explainers
from explainers import (
    CamNotExactError,
    ExplainersError,
    RegistryError,
    WeightsUnavailableError,
    get_explainer,
    load_model,
    load_registry,
)
from explainers.cli import main as cli_main

ENTRY = """
  {name}:
    architecture: {architecture}
    weights: {weights}
    num_classes: {num_classes}
    input_size: 64
"""


class WouldRun:
    """Pickles as a call to ``open(marker, "w")``: loading it with pickle would create ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def resnet18_state(num_classes=3, seed=0):
    torch.manual_seed(seed)
    return torchvision.models.resnet18(num_classes=num_classes).state_dict()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A registry file with two good entries and one broken entry of each kind, and its files."""
    folder = tmp_path_factory.mktemp("registry")
    marker = folder / "CODE_RAN"
    state = resnet18_state()
    torch.save(state, folder / "good.pth")
    torch.save(resnet18_state(num_classes=5), folder / "five_classes.pth")
    nan_state = {k: v.clone() for k, v in state.items()}
    nan_state["layer1.0.conv1.weight"][0, 0, 0, 0] = float("nan")
    torch.save(nan_state, folder / "nan.pth")
    torch.save({**state, "payload": WouldRun(marker)}, folder / "code.pth")          # torch zip format
    (folder / "code_legacy.pth").write_bytes(pickle.dumps({"fc.weight": WouldRun(marker)}, protocol=2))  # plain pickle
    (folder / "corrupt.pth").write_bytes(b"PK\x03\x04 not really a zip archive" * 10)
    (folder / "two_labels.txt").write_text("cat\ndog\n")
    entries = [
        ("good", "torchvision:resnet18", "none", 3),
        ("good_file", "torchvision:resnet18", "file:good.pth", 3),
        ("missing_weights", "torchvision:resnet18", "file:missing.pth", 3),
        ("wrong_shapes", "torchvision:resnet18", "file:five_classes.pth", 3),
        ("nan_weights", "torchvision:resnet18", "file:nan.pth", 3),
        ("code_weights", "torchvision:resnet18", "file:code.pth", 3),
        ("code_weights_legacy", "torchvision:resnet18", "file:code_legacy.pth", 3),
        ("corrupt_weights", "torchvision:resnet18", "file:corrupt.pth", 3),
        ("non_gap_head", "torchvision:mobilenet_v3_small", "none", 3),
        ("unknown_architecture", "torchvision:resnet19", "none", 3),
        ("import_path", "mypackage.models:Net", "none", 3),
        ("bad_num_classes", "torchvision:resnet18", "none", "three"),
    ]
    text = "models:" + "".join(ENTRY.format(name=n, architecture=a, weights=w, num_classes=k) for n, a, w, k in entries)
    text += "\n  label_count:\n    architecture: torchvision:resnet18\n    weights: none\n    num_classes: 3\n    labels: two_labels.txt\n"
    text += "\n  typo_field:\n    architecture: torchvision:resnet18\n    weigths: none\n"
    text += "\n  not_a_mapping: resnet18\n"
    path = folder / "models.yaml"
    path.write_text(text)
    return load_registry(path), marker, state


# entry -> (error type, when it is raised, substring of the message)
BROKEN = {
    "missing_weights": (WeightsUnavailableError, "load", "missing.pth not found"),
    "wrong_shapes": (WeightsUnavailableError, "load", "weight 'fc.weight' has shape (5, 512), the architecture needs (3, 512)"),
    "nan_weights": (WeightsUnavailableError, "load", "'layer1.0.conv1.weight' holds NaN or infinite values"),
    "code_weights": (WeightsUnavailableError, "load", "holds more than tensors (code or objects: it would call"),
    "code_weights_legacy": (WeightsUnavailableError, "load", "(code or objects: it would call"),
    "corrupt_weights": (WeightsUnavailableError, "load", "cannot read weights"),
    "non_gap_head": (RegistryError, "load", "not global average pooling + one linear layer"),
    "label_count": (RegistryError, "load", "2 class names for num_classes=3"),
    "unknown_architecture": (RegistryError, "parse", "torchvision has no classification model 'resnet19'"),
    "import_path": (RegistryError, "parse", "source 'mypackage.models' is not allowed"),
    "bad_num_classes": (RegistryError, "parse", "field 'num_classes': must be a positive integer"),
    "typo_field": (RegistryError, "parse", "field 'weigths': unknown field"),
    "not_a_mapping": (RegistryError, "parse", "entry must be a mapping"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_entry_has_a_clear_message_naming_it(registry, name):
    reg, marker, _ = registry
    error, when, expected = BROKEN[name]
    assert (name in reg.errors) == (when == "parse")
    with pytest.raises(error) as info:
        load_model(name, reg, device="cpu")
    message = str(info.value)
    assert message.startswith(f"model '{name}': ") and expected in message and "\n" not in message
    assert isinstance(info.value, ExplainersError)
    assert not marker.exists()


def test_the_rest_of_the_registry_keeps_working(registry):
    reg, _, state = registry
    assert reg.names == ["good", "good_file", "missing_weights", "wrong_shapes", "nan_weights", "code_weights",
                         "code_weights_legacy", "corrupt_weights", "non_gap_head", "label_count"]
    for name in ("good", "good_file"):
        model = load_model(name, reg, device="cpu")
        assert model.cam_exact and model.num_classes == 3
    loaded = load_model("good_file", reg, device="cpu").network.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_weights_that_carry_code_are_refused_and_never_run(registry):
    reg, marker, _ = registry
    for name in ("code_weights", "code_weights_legacy"):
        with pytest.raises(WeightsUnavailableError, match="was refused for safety, nothing in it was run"):
            load_model(name, reg, device="cpu")
    assert not marker.exists()
    # the files really would run code: plain pickle creates the marker (control experiment)
    pickle.loads(pickle.dumps(WouldRun(marker))).close()
    assert marker.exists()
    marker.unlink()


def test_unknown_model_name_lists_the_known_ones(registry):
    reg, _, _ = registry
    with pytest.raises(RegistryError, match=r"unknown model 'resnet500'; known models in .*: good, good_file, missing_weights"):
        load_model("resnet500", reg)


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  good:\n    architecture: torchvision:resnet18\n   weights: [none\n")
    with pytest.raises(RegistryError, match=r"models.yaml is not valid YAML at line \d+; fix the syntax"):
        load_registry(path)


@pytest.mark.parametrize("text", ["- a\n- list\n", "models: [resnet18]\n", "", "\xff\xfe"])
def test_registry_without_a_models_mapping(tmp_path, text):
    path = tmp_path / "models.yaml"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(RegistryError, match="models.yaml"):
        load_registry(path)


def test_missing_registry_file(tmp_path):
    with pytest.raises(RegistryError, match="not found; create it or set EXPLAINERS_MODELS"):
        load_registry(tmp_path / "nope.yaml")


def test_cli_models_lists_broken_entries_without_failing(registry, capsys):
    reg, marker, _ = registry
    assert cli_main(["models", "--models", str(reg.path)]) == 0
    out = capsys.readouterr().out
    for name, (_, when, expected) in BROKEN.items():
        if when == "parse":
            assert f"{name}" in out and expected in out
    assert not marker.exists()


def test_cli_explain_with_a_broken_entry_is_one_line(registry, tmp_path, capsys):
    reg, marker, _ = registry
    image = tmp_path / "x.png"
    from PIL import Image
    Image.new("RGB", (64, 64), (200, 10, 10)).save(image)
    status = cli_main(["explain", str(image), "--model", "code_weights", "--models", str(reg.path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("error: model 'code_weights': ")
    assert not marker.exists()


class MaxPoolHead(nn.Module):
    """conv -> global MAX pooling -> linear: not GAP, so CAM is not exact."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))


@pytest.mark.parametrize("method", ["cam", "secam"])
def test_non_gap_head_is_marked_and_refused_by_cam_methods(method):
    model = explainers.from_network(MaxPoolHead(), name="maxpool_net", input_size=32, device="cpu")
    assert not model.cam_exact and "not GAP + linear" in model.gap_check.detail
    image = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    with pytest.raises(CamNotExactError, match="'maxpool_net' is marked 'CAM not exact'"):
        get_explainer(method).explain(model, image)
    assert all(not m._forward_hooks for m in model.network.modules())


def test_feature_layer_the_classifier_does_not_pool(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  early:\n    architecture: torchvision:resnet18\n    weights: none\n"
                    "    num_classes: 3\n    input_size: 64\n    feature_layer: layer3\n"
                    "  nowhere:\n    architecture: torchvision:resnet18\n    weights: none\n"
                    "    num_classes: 3\n    input_size: 64\n    feature_layer: layer9\n")
    model = load_model("early", path, device="cpu")
    assert not model.cam_exact and "classifier 'fc' takes 512 features" in model.gap_check.detail
    with pytest.raises(RegistryError, match="model 'nowhere': field 'feature_layer': the network has no module 'layer9'"):
        load_model("nowhere", path, device="cpu")
