"""CAM: Class Activation Mapping (Zhou et al., 2016)."""

from __future__ import annotations

from .base import Explainer, register_explainer


@register_explainer
class CAM(Explainer):
    """Class Activation Mapping.

    :math:`M_c(x, y) = \\sum_k w_k^c f_k(x, y)` at feature resolution, with
    :math:`w^c` the classifier's row for class ``c`` and :math:`f_k` the feature
    layer's channels; normalised to [0, 1] as ``(M - min) / (max - min)`` and
    upsampled bilinearly (half-pixel centres) to the image's own size. Exact for
    GAP + linear heads: the class score is the spatial mean of :math:`M_c` plus
    the bias.

    Examples
    --------
    >>> cam = get_explainer("cam")
    >>> [e] = cam.explain(model, image)          # doctest: +SKIP
    >>> e.saliency.shape == image.shape[:2]      # doctest: +SKIP
    True
    """

    name = "cam"
    title = "CAM"
