"""The model registry, the GAP check, and every registry entry end to end."""

import textwrap

import numpy as np
import pytest
import torch
from skimage import data

import explainers
from explainers.errors import RegistryError, WeightsUnavailableError
from explainers.models import load_registry, weights_status
from conftest import ROOT, all_hooks

REGISTRY = load_registry(ROOT / "models.yaml")


def test_default_registry_is_valid_and_has_the_offline_default():
    assert REGISTRY.errors == {}
    assert "efficientnet_lite0" in REGISTRY.specs
    assert weights_status(REGISTRY.specs["efficientnet_lite0"])[0]


@pytest.mark.parametrize("name", list(REGISTRY.specs))
def test_every_registry_entry_builds_and_explains(name):
    """Entries whose weights are here are built and explained once; the others fail with a clear message."""
    spec = REGISTRY.specs[name]
    available, detail = weights_status(spec)
    if not available:
        with pytest.raises(WeightsUnavailableError, match="offline") as info:
            explainers.load_model(name, REGISTRY, device="cpu")
        assert "cache" in str(info.value)
        pytest.skip(f"{name}: weights not available offline here ({detail}); the error names the cache file")
    model = explainers.load_model(name, REGISTRY, device="cpu")
    assert model.cam_exact == spec.cam_exact, model.gap_check.detail
    assert model.input_size == spec.input_size and len(model.labels) == spec.num_classes
    image = data.chelsea()
    for method in ("cam", "secam") if spec.cam_exact else ("gradcam",):
        [e] = explainers.get_explainer(method).explain(model, image)
        assert e.saliency.shape == image.shape[:2]
        assert "cat" in e.label  # all the ImageNet models see a cat
    assert all_hooks(model.network) == 0


@pytest.mark.parametrize("name", list(REGISTRY.specs))
def test_every_registry_architecture_with_random_weights(name):
    """Every entry's architecture, weights overridden to none (random), on a small input: it builds, its
    feature layer and classifier are found, and the GAP check agrees with the entry (exact, or marked
    ``cam_exact: false``, which CAM refuses and Grad-CAM serves). Needs no download."""
    import dataclasses

    from explainers.models import build_model

    spec = dataclasses.replace(REGISTRY.specs[name], weights_source="none", weights=None, input_size=64)
    model = build_model(spec, device="cpu")
    assert model.feature_layer == (spec.feature_layer or model.feature_layer)
    assert isinstance(model.module(model.classifier), torch.nn.Linear)
    assert model.module(model.classifier).out_features == spec.num_classes
    assert model.gap_check.exact == spec.cam_exact, model.gap_check.detail
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    method = "cam" if spec.cam_exact else "gradcam"
    [e] = explainers.get_explainer(method).explain(model, image)
    assert e.saliency.shape == (48, 64) and np.isfinite(e.saliency).all()
    if not spec.cam_exact:
        with pytest.raises(explainers.CamNotExactError, match="gradient-based"):
            explainers.get_explainer("cam").explain(model, image)
    assert all_hooks(model.network) == 0


def test_registry_offers_the_common_gap_cnns():
    wanted = {"resnet18", "resnet34", "resnet101", "wide_resnet50_2", "resnext50_32x4d", "densenet121",
              "mobilenet_v2", "regnet_y_400mf", "efficientnet_b0", "convnext_tiny"}
    assert wanted <= set(REGISTRY.specs)
    assert [n for n, s in REGISTRY.specs.items() if not s.cam_exact] == ["convnext_tiny"]


def test_gap_check_accepts_gap_head_and_rejects_two_layer_head(tiny_model, two_layer_model):
    assert tiny_model.gap_check.exact and tiny_model.gap_check.max_error < 1e-5
    assert not two_layer_model.gap_check.exact
    assert "not GAP + linear" in two_layer_model.gap_check.detail


def test_layers_are_detected_when_not_given(tiny_model):
    assert (tiny_model.feature_layer, tiny_model.classifier) == ("features", "fc")


def test_detection_finds_the_real_layers_of_known_architectures():
    import timm
    import torchvision

    for network, expected in ((torchvision.models.resnet18(num_classes=5), ("layer4", "fc")),
                              (timm.create_model("tf_efficientnet_lite0", num_classes=5), ("bn2", "classifier"))):
        model = explainers.from_network(network, input_size=64, device="cpu")
        assert (model.feature_layer, model.classifier) == expected
        assert model.cam_exact


def write_registry(tmp_path, body):
    path = tmp_path / "models.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def test_a_malformed_entry_names_entry_and_field_and_the_others_still_load(tmp_path):
    path = write_registry(tmp_path, """
        models:
          good:
            architecture: torchvision:resnet18
            weights: none
            num_classes: 3
            input_size: 64
          bad_size:
            architecture: torchvision:resnet18
            input_size: -4
          bad_arch:
            architecture: os:system
          imports:
            architecture: timm:definitely_not_a_model
    """)
    registry = load_registry(path)
    assert list(registry.specs) == ["good"]
    assert "model 'bad_size'" in registry.errors["bad_size"] and "'input_size'" in registry.errors["bad_size"]
    assert "not allowed" in registry.errors["bad_arch"]
    assert "timm has no model" in registry.errors["imports"]
    with pytest.raises(RegistryError, match="input_size"):
        explainers.load_model("bad_size", registry)
    model = explainers.load_model("good", registry, device="cpu")
    assert model.labels == ("class 0", "class 1", "class 2")


def test_unknown_name_lists_known_models():
    with pytest.raises(RegistryError, match="known models.*efficientnet_lite0"):
        explainers.load_model("no_such_model", REGISTRY)


def test_registry_path_from_environment(tmp_path, monkeypatch):
    path = write_registry(tmp_path, """
        models:
          mine:
            architecture: torchvision:resnet18
            weights: none
            num_classes: 2
            input_size: 64
    """)
    monkeypatch.setenv("EXPLAINERS_MODELS", str(path))
    assert explainers.load_registry().names == ["mine"]


def test_file_weights_with_own_labels(tmp_path):
    """A team's fine-tuned model: a local state dict, its own class count and label file."""
    import torchvision

    torch.manual_seed(3)
    net = torchvision.models.resnet18(num_classes=2)
    torch.save(net.state_dict(), tmp_path / "mine.pth")
    (tmp_path / "labels.txt").write_text("healthy\nsick\n")
    path = write_registry(tmp_path, """
        models:
          mine:
            architecture: torchvision:resnet18
            weights: file:mine.pth
            num_classes: 2
            labels: labels.txt
            input_size: 64
    """)
    model = explainers.load_model("mine", path, device="cpu")
    assert model.labels == ("healthy", "sick")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model.network(x), net.eval()(x))
    [e] = explainers.get_explainer("cam").explain(model, np.full((64, 64, 3), 90, np.uint8))
    assert e.label in ("healthy", "sick")


def test_safetensors_weights(tmp_path):
    import torchvision
    from safetensors.torch import save_file

    net = torchvision.models.resnet18(num_classes=2)
    save_file(net.state_dict(), tmp_path / "mine.safetensors")
    path = write_registry(tmp_path, """
        models:
          mine:
            architecture: torchvision:resnet18
            weights: file:mine.safetensors
            num_classes: 2
            input_size: 64
    """)
    model = explainers.load_model("mine", path, device="cpu")
    torch.testing.assert_close(model.network.fc.weight, net.fc.weight)
