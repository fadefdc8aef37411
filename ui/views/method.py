"""What the Method page shows, computed on the sidebar's photo: both methods' maps, the channels, SLIC's effect."""

from __future__ import annotations

import dataclasses

import numpy as np
import plotly.graph_objects as go

from explainers import Explanation, ForwardPass

from ..app import session
from ..app.session import Selection
from ..compute import explanations, photos
from ..figures import maps
from ..figures.arrays import channel_contributions, tutorial_grid_survivors


@dataclasses.dataclass(frozen=True)
class Pair:
    """The forward pass, CAM and SeCAM of the sidebar's photo for one class, and SeCAM's superpixels."""

    forward: ForwardPass
    cam: Explanation
    secam: Explanation
    superpixels: object


def forward(selection: Selection) -> ForwardPass:
    """The cached forward pass of the sidebar's model on the sidebar's photo."""
    return explanations.forward_pass(selection.model_name, selection.image_key, selection.model, selection.image)


def explain_pair(selection: Selection, forward_pass: ForwardPass, target: int) -> Pair:
    """The two methods the dashboard opens with (CAM, then SeCAM), cached, with the session's settings."""
    threshold = float(session.value("threshold"))
    cam_condition, secam_condition = (explanations.condition(selection.model_name, method, selection, threshold)
                                      for method in session.DEFAULT_METHODS)
    [cam] = explanations.explanations(cam_condition, selection.image_key, selection.image, [target])
    [secam] = explanations.explanations(secam_condition, selection.image_key, selection.image, [target])
    labels = explanations.superpixels_of(secam_condition, selection.image_key, selection.image)
    return Pair(forward_pass, cam, secam, labels)


def contributions(selection: Selection, pair: Pair, target: int) -> tuple[np.ndarray, float, np.ndarray]:
    """``(each channel's contribution to the class's logit, the bias, the feature maps)``."""
    weight, bias = selection.model.classifier_weights()
    features = pair.forward.features.detach().cpu().numpy()
    found = channel_contributions(weight[target].detach().cpu().numpy(), features)
    return found, float(bias[target]) if bias is not None else 0.0, features


def contribution_figures(found: np.ndarray, features: np.ndarray, label: str) -> tuple[go.Figure, go.Figure]:
    """The biggest contributions, and the feature maps of the top eight channels."""
    top = [int(k) for k in np.argsort(-found, kind="stable")[:8]]
    return maps.contribution_figure(found, n=12, label=label), maps.feature_maps_figure(features, top, cols=4)


def slic_effect(selection: Selection) -> tuple[go.Figure, tuple[int, int]]:
    """SLIC at a third, the chosen and three times the sidebar's superpixel count, on the small preview."""
    options = sorted({max(10, selection.n_segments // 3), selection.n_segments, min(300, selection.n_segments * 3)})
    panels = []
    small = None
    for n in options:
        small, seg = photos.thumbnail_superpixels(selection.image_key, n, selection.compactness, selection.image)
        panels.append((f"n_segments = {n}: {np.unique(seg).size} superpixels", seg))
    return maps.segmentation_figure(small, panels), small.shape[:2]


def tutorial_survivors(pair: Pair) -> tuple[int, int]:
    """How many superpixels survive the tutorial's shrink of the labels to the CAM grid, of how many."""
    _, fh, fw = (int(d) for d in pair.forward.features.shape)
    return tutorial_grid_survivors(pair.superpixels.full, (fh, fw))
