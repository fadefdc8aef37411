"""Map helpers shared by every explainer: upsampling and normalisation."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def upsample(class_map: torch.Tensor | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling with half-pixel centres to ``size = (H, W)``.

    Same result as ``F.interpolate(..., mode="bilinear", align_corners=False)``
    (and OpenCV's ``INTER_LINEAR``). On the CPU OpenCV does it (faster on large
    photos); on a GPU torch does it where the map already is.

    Parameters
    ----------
    class_map : (h, w) tensor or ndarray
    size : (H, W)

    Returns
    -------
    (H, W) float32 ndarray
    """
    h, w = size
    if isinstance(class_map, torch.Tensor) and class_map.device.type != "cpu":
        out = F.interpolate(class_map[None, None].float(), size=(h, w), mode="bilinear", align_corners=False)
        return out[0, 0].cpu().numpy()
    arr = class_map.detach().cpu().numpy() if isinstance(class_map, torch.Tensor) else np.asarray(class_map)
    return cv2.resize(arr.astype(np.float32, copy=False), (w, h), interpolation=cv2.INTER_LINEAR)


def minmax(class_map: torch.Tensor) -> torch.Tensor:
    """``(M - min) / (max - min)``; a constant map gives zeros instead of dividing by zero."""
    lo, hi = class_map.min(), class_map.max()
    if float(hi - lo) <= 0:
        return torch.zeros_like(class_map)
    return (class_map - lo) / (hi - lo)


def relu_max(class_map: torch.Tensor) -> torch.Tensor:
    """``max(M, 0) / max(M)`` (SeCAM's normalisation); an all-non-positive map gives zeros."""
    positive = class_map.clamp(min=0)
    top = positive.max()
    if float(top) <= 0:
        return torch.zeros_like(class_map)
    return positive / top


def upsample_many(class_maps: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Upsample ``T`` maps of one image in one call (the same result as :func:`upsample` on each).

    Parameters
    ----------
    class_maps : (T, h, w) tensor
    size : (H, W)

    Returns
    -------
    (T, H, W) float32 ndarray
    """
    h, w = size
    if class_maps.device.type != "cpu":  # one kernel and one copy back for all T maps
        on_device = F.interpolate(class_maps[None].float(), size=(h, w), mode="bilinear", align_corners=False)
        return on_device[0].cpu().numpy()
    stacked = np.ascontiguousarray(class_maps.detach().float().numpy().transpose(1, 2, 0))  # (h, w, T)
    if stacked.shape[2] > 512:  # OpenCV's channel limit
        return np.stack([upsample(m, size) for m in class_maps])
    resized = np.asarray(cv2.resize(stacked, (w, h), interpolation=cv2.INTER_LINEAR))
    return np.ascontiguousarray(resized.reshape(h, w, -1).transpose(2, 0, 1))
