"""Static overlay images (the tutorial's outputs), used by the CLI and the dashboard's downloads."""

from __future__ import annotations

import cv2
import numpy as np

from .errors import ParameterError
from .explanation import Explanation

#: Colour scales for maps, by the names the dashboard shows (Plotly's); the first is the default everywhere
#: (dashboard maps, review trials, the Batch gallery, the CLI's overlays): perceptually uniform, colour-blind safe.
COLORSCALES = ("Viridis", "Cividis", "Turbo", "Jet")
DEFAULT_COLORSCALE = COLORSCALES[0]
_CV2_COLORMAPS = {
    "Viridis": cv2.COLORMAP_VIRIDIS,
    "Cividis": cv2.COLORMAP_CIVIDIS,
    "Turbo": cv2.COLORMAP_TURBO,
    "Jet": cv2.COLORMAP_JET,
}


def heatmap_overlay(
    image: np.ndarray, saliency: np.ndarray, label: str | None = None, colorscale: str = DEFAULT_COLORSCALE
) -> np.ndarray:
    """The tutorial's CAM picture: colour map x 0.3 + image x 0.5, class label written on it.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB ndarray
    saliency : (H, W) float ndarray in [0, 1]
    label : str, optional
        Written at the top left in green.
    colorscale : str
        One of :data:`COLORSCALES` (the default is the dashboard's).

    Returns
    -------
    (H, W, 3) uint8 RGB ndarray

    Raises
    ------
    ParameterError
        If ``colorscale`` is not one of :data:`COLORSCALES`.
    """
    if colorscale not in _CV2_COLORMAPS:
        raise ParameterError(f"unknown colour scale {colorscale!r}; use one of {', '.join(COLORSCALES)}")
    colormap = _CV2_COLORMAPS[colorscale]
    heat = np.asarray(cv2.applyColorMap((np.clip(saliency, 0, 1) * 255).astype(np.uint8), colormap))[..., ::-1]
    out = np.clip(heat.astype(np.float32) * 0.3 + image.astype(np.float32) * 0.5, 0, 255).astype(np.uint8)
    if label:
        scale = max(0.5, min(out.shape[:2]) / 400)
        thickness = max(1, int(round(scale * 1.5)))
        cv2.putText(
            out,
            label,
            (int(20 * scale), int(40 * scale)),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (0, 255, 0),
            thickness,
            cv2.LINE_AA,
        )
    return out


def masked_image(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The tutorial's SeCAM picture: the image with pixels outside ``mask`` blacked out."""
    out = image.copy()
    out[~mask] = 0
    return out


def explanation_picture(image: np.ndarray, explanation: Explanation) -> np.ndarray:
    """The tutorial's picture for an explanation: masked photo for SeCAM, heatmap overlay otherwise."""
    if explanation.mask is not None:
        return masked_image(image, explanation.mask)
    return heatmap_overlay(image, explanation.saliency, explanation.label)
