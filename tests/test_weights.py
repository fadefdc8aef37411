"""Weight sources, one unit each: parse, load (by key, by position only for ``package:``), status, size."""

from __future__ import annotations

import textwrap

import pytest
import torch
import torchvision

from explainers import RegistryError, WeightsUnavailableError, load_model, load_registry
from explainers.models import WEIGHT_SOURCES, weights_size, weights_status
from explainers.models.weights import load_state

ENTRY = """
models:
  renamed:
    architecture: torchvision:resnet18
    weights: file:renamed.pth
    num_classes: 3
    input_size: 64
"""


def renamed_state():
    torch.manual_seed(0)
    state = torchvision.models.resnet18(num_classes=3).state_dict()
    return state, {f"backbone.{i}": v for i, v in enumerate(state.values())}


def test_a_file_loads_by_key_and_says_which_names_differ(tmp_path):
    state, renamed = renamed_state()
    torch.save(renamed, tmp_path / "renamed.pth")
    (tmp_path / "models.yaml").write_text(ENTRY)
    with pytest.raises(WeightsUnavailableError, match="names do not match") as info:
        load_model("renamed", tmp_path / "models.yaml", device="cpu")
    assert "missing 122" in str(info.value) and "backbone." in str(info.value) and "bn1.bias" in str(info.value)
    torch.save(state, tmp_path / "renamed.pth")  # the architecture's own names: loads
    model = load_model("renamed", tmp_path / "models.yaml", device="cpu")
    assert torch.equal(model.network.state_dict()["fc.weight"], state["fc.weight"])


def test_by_position_only_when_asked_as_package_weights_do():
    state, renamed = renamed_state()
    network = torchvision.models.resnet18(num_classes=3)
    with pytest.raises(WeightsUnavailableError, match="names do not match"):
        load_state(network, renamed, "x")
    load_state(network, renamed, "x", by_position=True)
    assert torch.equal(network.state_dict()["fc.weight"], state["fc.weight"])
    assert WEIGHT_SOURCES["package"].by_position and not WEIGHT_SOURCES["file"].by_position


def test_every_source_parses_reports_and_sizes(tmp_path):
    assert list(WEIGHT_SOURCES) == ["package", "torchvision", "timm", "file", "none"]
    text = textwrap.dedent("""
        models:
          a: {architecture: "torchvision:resnet18", weights: "torchvision:IMAGENET1K_V1"}
          b: {architecture: "timm:resnet18", weights: "torchvision:IMAGENET1K_V1"}
          c: {architecture: "torchvision:resnet18", weights: "ftp:x"}
          d: {architecture: "torchvision:resnet18", weights: "file:"}
          e: {architecture: "torchvision:resnet18", cam_exact: "no"}
          f: {architecture: "torchvision:resnet18"}
    """)
    (tmp_path / "models.yaml").write_text(text)
    registry = load_registry(tmp_path / "models.yaml")
    assert "need a torchvision architecture" in registry.errors["b"]
    assert "use one of package, torchvision, timm, file, none" in registry.errors["c"]
    assert "needs a value after the colon, e.g. 'file:" in registry.errors["d"]
    assert "field 'cam_exact': must be true or false" in registry.errors["e"]
    size, where = weights_size(registry.specs["a"])
    ok, detail = weights_status(registry.specs["a"])
    if not ok:  # not cached: the size comes from torchvision's metadata, in bytes
        assert (size, where) == (44_661_000, "torchvision's weights metadata (_file_size)")
        assert "needs download" in detail
    assert weights_size(registry.specs["f"]) == (0, "no file") and weights_status(registry.specs["f"])[0]


def test_timm_size_is_estimated_from_the_architecture_when_not_cached():
    registry = load_registry()
    spec = registry.specs["resnet50_timm"]
    size, where = weights_size(spec)
    if weights_status(spec)[0]:
        pytest.skip("the timm checkpoint is cached here: its real size is reported")
    assert where.startswith("estimated") and 95e6 < size < 110e6  # 25.6 M float32 tensors


def test_unknown_registry_name_is_one_message():
    with pytest.raises(RegistryError, match="unknown model 'nope'"):
        load_model("nope")
