"""The bundled default model on real photographs."""

import numpy as np
import pytest
from skimage import data

import explainers


@pytest.mark.parametrize("sample, expected", [("chelsea", {"Egyptian cat", "tabby", "tiger cat"}),
                                              ("coffee", {"espresso", "cup"})])
def test_default_model_gets_skimage_samples_right(default_model, sample, expected):
    image = getattr(data, sample)()
    [(index, label, probability)] = default_model.predict(image, topk=1)
    assert label in expected and probability > 0.5


def test_default_model_top5_on_first_100_imagenet_photos(default_model, sample_labels):
    hits = 0
    for path, class_index in sample_labels[:100]:
        fp = default_model.forward(explainers.load_image(path))
        hits += class_index in fp.top(5)
    assert hits >= 90, f"top-5 {hits}/100"


def test_cam_and_secam_on_a_real_photo_point_at_the_object(default_model):
    """On chelsea (cat's head in the centre-left, plain background), the map's peak lies on the cat."""
    image = data.chelsea()
    [cam] = explainers.get_explainer("cam").explain(default_model, image)
    [secam] = explainers.get_explainer("secam").explain(default_model, image)
    y, x = np.unravel_index(np.argmax(cam.saliency), cam.saliency.shape)
    assert 50 < y < 300 and 80 < x < 350
    assert secam.mask[y, x] or secam.saliency[y, x] > 0.5 * secam.saliency.max()
    assert 0.02 < secam.mask.mean() < 0.9
