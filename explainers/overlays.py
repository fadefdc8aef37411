"""Static overlay images (the tutorial's outputs), used by the CLI and the dashboard's downloads."""

from __future__ import annotations

import cv2
import numpy as np

from .explanation import Explanation


def heatmap_overlay(
    image: np.ndarray, saliency: np.ndarray, label: str | None = None, colormap: int = cv2.COLORMAP_JET
) -> np.ndarray:
    """The tutorial's CAM picture: colour map x 0.3 + image x 0.5, class label written on it.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB ndarray
    saliency : (H, W) float ndarray in [0, 1]
    label : str, optional
        Written at the top left in green.

    Returns
    -------
    (H, W, 3) uint8 RGB ndarray
    """
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
