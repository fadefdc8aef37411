"""The fast input paths (explainers.inputs) against load_image + LoadedModel.preprocess, and batched top-K CAM.

Tolerances (stated in explainers/inputs.py):
- prepare_input without draft decoding: the same input tensor, bit for bit;
- with draft decoding (JPEGs at least twice the input size): mean absolute difference of the normalised
  input below 0.02, same top-1;
- decode_resize (the GPU code path, run here on torchvision's CPU decoder): same top-1, CAM maps
  correlated at >= 0.99 with the CPU path's.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data as skdata

import explainers
from explainers.methods.base import Explainer
from explainers.errors import ParameterError
from explainers.inputs import InputFailure, ModelInput, decode_resize, iter_cam_maps, prepare_input, to_batch
from explainers.maps import upsample, upsample_many

NAMES = ("chelsea", "coffee", "astronaut", "rocket")


def encode(array: np.ndarray, fmt: str = "JPEG", scale: int = 1, exif: Image.Exif | None = None) -> bytes:
    im = Image.fromarray(array)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.BICUBIC)
    buffer = io.BytesIO()
    kwargs = {"quality": 92} if fmt == "JPEG" else {}
    if exif is not None:
        kwargs["exif"] = exif
    im.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photos():
    return {name: getattr(skdata, name)() for name in NAMES}


def reference(model, data: bytes) -> torch.Tensor:
    return model.preprocess(explainers.load_image(data))


def tensor(model, x: ModelInput) -> torch.Tensor:
    """The network's input for one photo of the fast paths."""
    assert x.pixels.dtype == torch.uint8 and x.pixels.shape == (model.input_size, model.input_size, 3)
    return to_batch([x], model.spec.mean, model.spec.std)[0]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_prepare_input_equals_load_image_preprocess(default_model, photos, fmt):
    m = default_model
    for name, array in photos.items():
        data = encode(array, fmt)
        x = prepare_input((f"{name}.img", data), m.input_size)
        assert x.name == f"{name}.img" and x.image_size == array.shape[:2]
        t = tensor(m, x)
        assert t.shape == (3, m.input_size, m.input_size) and t.dtype == torch.float32
        assert torch.equal(t, reference(m, data))  # same arithmetic, bit for bit
        assert t.is_contiguous() and reference(m, data).is_contiguous()  # channels-last strides slow the CPU


@pytest.mark.slow
def test_prepare_input_draft_is_close_and_keeps_top1(default_model, photos):
    m = default_model
    fast, ref = [], []
    for array in photos.values():
        data = encode(array, scale=4)  # at least 2x the input on both sides: draft decoding is used
        x = prepare_input(data, m.input_size)
        assert x.image_size == (array.shape[0] * 4, array.shape[1] * 4)
        r = reference(m, data)
        assert float((tensor(m, x) - r).abs().mean()) < 0.02
        fast.append(tensor(m, x))
        ref.append(r)
    logits_fast, _ = m.forward_batch(torch.stack(fast))
    logits_ref, _ = m.forward_batch(torch.stack(ref))
    assert logits_fast.argmax(1).tolist() == logits_ref.argmax(1).tolist()


def test_exif_orientation_is_applied_on_both_paths(default_model, photos):
    m = default_model
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    data = encode(photos["rocket"], exif=exif)
    expected = explainers.load_image(data)
    assert expected.shape[:2] == photos["rocket"].shape[1::-1]
    cpu = prepare_input(data, m.input_size)
    [dev] = decode_resize([("rocket.jpg", data)], m.input_size, device="cpu")
    assert cpu.image_size == dev.image_size == expected.shape[:2]
    torch.testing.assert_close(tensor(m, cpu), m.preprocess(expected), atol=1e-5, rtol=0)
    assert float((tensor(m, dev) - tensor(m, cpu)).abs().mean()) < 0.02


def test_decode_resize_keeps_order_sends_other_formats_to_cpu_and_reports_bad_files(default_model, photos, tmp_path):
    m = default_model
    png = encode(photos["coffee"], "PNG")
    path = tmp_path / "chelsea.jpg"
    path.write_bytes(encode(photos["chelsea"]))
    out = decode_resize([path, ("bad.jpg", b"\xff\xd8\xff\xe0 not a jpeg"), ("coffee.png", png),
                         tmp_path / "missing.jpg"], m.input_size, device="cpu")
    assert [type(o) for o in out] == [ModelInput, InputFailure, ModelInput, InputFailure]
    assert out[0].name == "chelsea.jpg" and out[2].name == "coffee.png"
    assert "damaged or truncated" in out[1].message and out[1].name == "bad.jpg"
    assert "no such file" in out[3].message
    # the PNG went through prepare_input: the same tensor as the CPU path
    torch.testing.assert_close(tensor(m, out[2]), reference(m, png), atol=1e-5, rtol=0)


@pytest.mark.slow
def test_device_decode_path_same_top1_and_maps_correlate(default_model, photos):
    """The GPU code path (torchvision's decode_jpeg, resize in torch), run on the CPU decoder."""
    m = default_model
    sources = [(f"{name}.jpg", encode(array)) for name, array in photos.items()]
    cam = explainers.get_explainer("cam")
    device_maps = list(iter_cam_maps(m, sources, decoder="gpu", batch_size=3))
    assert [o.name for o in device_maps] == [s[0] for s in sources]
    for maps, (name, data) in zip(device_maps, sources):
        [e] = cam.explain(m, explainers.load_image(data))
        assert int(maps.classes[0]) == e.class_index, name
        assert maps.maps.shape == (1, *e.saliency.shape)
        r = np.corrcoef(maps.maps[0].numpy().ravel(), e.saliency.ravel())[0, 1]
        assert r >= 0.99, (name, r)


@pytest.mark.slow
def test_iter_cam_maps_cpu_path_equals_cam_explain_topk(default_model, photos):
    m = default_model
    sources = [(f"{name}.jpg", encode(array)) for name, array in photos.items()]
    sources.insert(1, ("empty.jpg", b""))
    out = list(iter_cam_maps(m, sources, topk=3, decoder="cpu", batch_size=2, workers=2))
    assert isinstance(out[1], InputFailure) and "empty" in out[1].message
    cam = explainers.get_explainer("cam")
    for maps, (_, data) in zip([out[0], *out[2:]], [sources[0], *sources[2:]]):
        explained = cam.explain(m, explainers.load_image(data), topk=3)
        assert maps.classes.tolist() == [e.class_index for e in explained]
        for j, e in enumerate(explained):
            np.testing.assert_allclose(maps.maps[j].numpy(), e.saliency, atol=1e-4)
            assert float(maps.probabilities[j]) == pytest.approx(e.probability, abs=1e-5)
    feature = next(iter_cam_maps(m, sources[:1], topk=2, upsample=False))
    assert feature.maps.shape == (2, 7, 7)


def test_iter_cam_maps_refuses_bad_options(default_model, two_layer_model):
    with pytest.raises(ParameterError, match="decoder"):
        list(iter_cam_maps(default_model, [], decoder="nvjpeg"))
    with pytest.raises(ParameterError, match="batch_size"):
        list(iter_cam_maps(default_model, [], batch_size=0))
    with pytest.raises(ParameterError, match="topk"):
        list(iter_cam_maps(default_model, [], topk=0))
    with pytest.raises(ParameterError, match="GAP"):
        list(iter_cam_maps(two_layer_model, []))


def test_batched_topk_cam_equals_one_class_at_a_time(default_model, photos):
    """CAM.explain computes all K maps in one call; the base class's loop does one class at a time."""
    cam = explainers.get_explainer("cam")
    image = photos["chelsea"]
    forward = default_model.forward(image)
    batched = cam.explain(default_model, image, topk=5, forward=forward)
    looped = Explainer.explain(cam, default_model, image, topk=5, forward=forward)
    assert [e.class_index for e in batched] == [e.class_index for e in looped]
    for a, b in zip(batched, looped):
        assert a.rank == b.rank and a.label == b.label and a.probability == b.probability
        np.testing.assert_allclose(a.saliency, b.saliency, atol=1e-6)
        np.testing.assert_allclose(a.class_map, b.class_map, atol=1e-5)
        assert a.saliency.flags["C_CONTIGUOUS"] and a.saliency.dtype == np.float32
    targeted = cam.explain(default_model, image, targets=[281, 285], forward=forward)
    assert [e.class_index for e in targeted] == [281, 285]
    with pytest.raises(TypeError, match="unexpected"):
        cam.explain(default_model, image, segments=np.zeros(image.shape[:2], int))


def test_upsample_many_equals_upsample_each():
    maps = torch.rand(5, 7, 7)
    many = upsample_many(maps, (37, 53))
    assert many.shape == (5, 37, 53) and many.dtype == np.float32
    for j in range(5):
        np.testing.assert_allclose(many[j], upsample(maps[j], (37, 53)), atol=1e-6)


def test_fast_jpeg_header_agrees_with_pillow(photos):
    from explainers.inputs import _jpeg_header

    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        for array in (photos["rocket"], photos["camera"] if "camera" in photos else skdata.camera()):
            data = encode(array, exif=exif)
            with Image.open(io.BytesIO(data)) as im:
                assert _jpeg_header(data) == (orientation, im.size, im.mode)
    assert _jpeg_header(b"\x89PNG\r\n\x1a\n") is None and _jpeg_header(b"\xff\xd8\xff\xe0\x00") is None


def test_cmyk_and_grayscale_jpegs(default_model, photos):
    m = default_model
    cmyk = io.BytesIO()
    Image.fromarray(photos["coffee"]).convert("CMYK").save(cmyk, "JPEG")
    gray = encode(skdata.camera())
    out = decode_resize([("cmyk.jpg", cmyk.getvalue()), ("gray.jpg", gray)], m.input_size,
                        device="cpu")
    assert [type(o) for o in out] == [ModelInput, ModelInput]
    assert torch.equal(tensor(m, out[0]), reference(m, cmyk.getvalue()))  # CMYK went through the CPU path
    assert float((tensor(m, out[1]) - reference(m, gray)).abs().mean()) < 0.02


def test_decode_photo_equals_load_image_and_preprocess_bit_for_bit(default_model, photos, tmp_path):
    """The engine's decoder: load_image's pixels and preprocess's tensor, for every kind of file it meets."""
    from explainers.inputs import decode_photo

    m = default_model
    exif = Image.Exif()
    exif[0x0112] = 6
    rgba = np.dstack([photos["coffee"], np.linspace(0, 255, photos["coffee"].size // 3).reshape(
        photos["coffee"].shape[:2]).astype(np.uint8)])
    cmyk = io.BytesIO()
    Image.fromarray(photos["coffee"]).convert("CMYK").save(cmyk, "JPEG")
    path = tmp_path / "rocket.jpg"
    path.write_bytes(encode(photos["rocket"], exif=exif))
    sources = {
        "jpeg": ("chelsea.jpg", encode(photos["chelsea"])),
        "png": ("astronaut.png", encode(photos["astronaut"], "PNG")),
        "rotated file": path,
        "grayscale": ("camera.jpg", encode(skdata.camera())),
        "rgba png": ("rgba.png", encode(rgba, "PNG")),
        "cmyk": ("cmyk.jpg", cmyk.getvalue()),
    }
    for kind, source in sources.items():
        reference = explainers.load_image(source[1] if isinstance(source, tuple) else source)
        image, pixels = decode_photo(source, [m.input_size, 32])
        np.testing.assert_array_equal(image, reference, err_msg=kind)
        assert image.dtype == np.uint8 and image.flags["C_CONTIGUOUS"], kind
        batch = to_batch([ModelInput(kind, pixels[m.input_size], image.shape[:2])], m.spec.mean, m.spec.std)
        assert torch.equal(batch[0], m.preprocess(reference)), kind
        assert pixels[32].shape == (32, 32, 3)
    array = photos["coffee"]
    image, pixels = decode_photo(array, [m.input_size])
    assert image is array or np.shares_memory(image, array)  # an array is validated, not copied or modified
    assert torch.equal(to_batch([ModelInput("a", pixels[m.input_size], (0, 0))], m.spec.mean, m.spec.std)[0],
                       m.preprocess(array))


def test_decode_photo_errors_are_load_image_errors(tmp_path):
    from explainers.inputs import decode_photo

    for source in (tmp_path / "missing.jpg", ("bad.jpg", b"\xff\xd8\xff\xe0 damaged"), ("text.png", b"hello")):
        with pytest.raises(explainers.ImageError) as ours:
            decode_photo(source)
        with pytest.raises(explainers.ImageError) as theirs:
            explainers.load_image(source[1] if isinstance(source, tuple) else source,
                                  name=source[0] if isinstance(source, tuple) else None)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(explainers.ImageError, match="smallest side"):
        decode_photo(np.zeros((8, 64, 3), np.uint8))
