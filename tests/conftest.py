"""Shared fixtures: tiny synthetic models with hand-computable answers, and the real default model."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

import explainers

pytest_plugins = ["pg_server"]  # a real PostgreSQL server and the `store` fixture

from photos import ROOT, sample_dir, sample_reason  # noqa: F401, E402  (tests import ROOT from here)

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path, monkeypatch):
    """Every test gets its own empty data folder, so no test writes the repository's ``data/``."""
    monkeypatch.setenv("EXPLAINERS_DATA_DIR", str(tmp_path / "explainers-data"))
    monkeypatch.delenv("EXPLAINERS_DATABASE_URL", raising=False)


class BlockMeanGAP(nn.Module):
    """Features = 8x8 block means of the input (3 channels); head = GAP + linear.

    On a 32x32 input the feature map is 4x4, so CAM can be computed by hand.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None):
        super().__init__()
        self.features = nn.AvgPool2d(8)
        self.fc = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.fc.weight.copy_(weight)
            self.fc.bias.copy_(bias if bias is not None else torch.zeros(weight.shape[0]))

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


class TwoLayerHead(BlockMeanGAP):
    """Same features, but a hidden layer between GAP and the classifier: CAM is not exact."""

    def __init__(self, weight):
        super().__init__(weight)
        self.hidden = nn.Linear(3, 3)
        with torch.no_grad():
            self.hidden.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.3, 1.0, -1.0], [2.0, 0.1, 0.7]]))
            self.hidden.bias.fill_(0.1)

    def forward(self, x):
        return self.fc(torch.relu(self.hidden(self.features(x).mean(dim=(2, 3)))))


#: class 0 likes red (and dislikes green and blue), class 1 likes blue minus green, class 2 is all zeros (flat CAM).
TINY_WEIGHT = torch.tensor([[1.0, -1.0, -1.0], [0.0, -0.5, 2.0], [0.0, 0.0, 0.0]])


@pytest.fixture
def tiny_model():
    return explainers.from_network(BlockMeanGAP(TINY_WEIGHT), name="tiny", input_size=32,
                                   labels=["red", "blue", "flat"], device="cpu")


@pytest.fixture
def two_layer_model():
    return explainers.from_network(TwoLayerHead(TINY_WEIGHT), name="two_layer", input_size=32,
                                   labels=["red", "blue", "flat"], classifier="fc", feature_layer="features",
                                   device="cpu")


@pytest.fixture(scope="session")
def default_model():
    return explainers.load_model("efficientnet_lite0", device="cpu")


@pytest.fixture(scope="session")
def sample_labels():
    import csv

    folder = sample_dir()
    if folder is None or not (folder / "labels.csv").is_file():
        pytest.skip(sample_reason())
    with open(folder / "labels.csv", newline="") as fh:
        return [(folder / row["file"], int(row["class_index"])) for row in csv.DictReader(fh)]


def all_hooks(network: nn.Module) -> int:
    """Number of forward/backward hooks attached anywhere in ``network``."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in network.modules())


def quadrant_image(h: int = 64, w: int = 64) -> np.ndarray:
    """Four flat-coloured quadrants: red, green, blue, white (top-left, top-right, bottom-left, bottom-right)."""
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 2] = (220, 20, 20)
    img[: h // 2, w // 2 :] = (20, 200, 20)
    img[h // 2 :, : w // 2] = (20, 20, 220)
    img[h // 2 :, w // 2 :] = (240, 240, 240)
    return img


@pytest.fixture(scope="session", autouse=True)
def _server_folder_roots(tmp_path_factory):
    """Server folders are read only under EXPLAINERS_DATA_ROOTS (explainers_team.roots): besides the default
    roots, let the tests (and the servers they start) use their temporary folders and the shared sample."""
    from explainers_team.roots import ENV_ROOTS, data_roots

    if ENV_ROOTS in os.environ:
        yield
        return
    sample = sample_dir()
    roots = [*data_roots(), tmp_path_factory.getbasetemp(), *([sample] if sample is not None else [])]
    os.environ[ENV_ROOTS] = os.pathsep.join(str(r) for r in roots)
    try:
        yield
    finally:
        os.environ.pop(ENV_ROOTS, None)


def shown(markdown: str) -> str:
    """What a reader sees of Markdown text written by ``ui.text.md``: the escapes taken out."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown).replace("  \n", "\n")
