"""The one decode path, ``load_image``, on the generated corpus of bad and odd files (tests/corpus.py)."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
import pytest
from PIL import Image

import corpus
import explainers.images as images
from explainers import ImageError, load_image, validate_image

SMALL_LIMIT = 20_000  # bytes: the oversize case is built one byte over it
BAD = corpus.bad_cases(oversize_limit=SMALL_LIMIT)
ODD = corpus.odd_cases()


@pytest.fixture
def small_file_limit(monkeypatch):
    monkeypatch.setattr(images, "MAX_FILE_BYTES", SMALL_LIMIT)


def test_corpus_is_large_small_and_names_are_unique():
    names = [c.name for c in BAD + ODD]
    assert len(BAD) >= 15 and len(ODD) >= 15
    assert len(set(names)) == len(names)
    assert max(len(c.data) for c in BAD + ODD if c.name != "oversize") < SMALL_LIMIT


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.name)
def test_bad_bytes_are_refused_with_a_one_line_message(case, small_file_limit):
    with pytest.raises(ImageError) as info:
        load_image(case.data, name=case.filename)
    message = str(info.value)
    assert case.expected in message
    assert message.startswith(f"{case.filename}: ")
    assert "\n" not in message
    exc = info.value  # no decoder traceback chained to it
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.name)
def test_bad_files_are_refused_naming_the_path(case, tmp_path, small_file_limit):
    path = corpus.write_cases([case], tmp_path)[case.name]
    with pytest.raises(ImageError, match=re.escape(case.expected)) as info:
        load_image(path)
    assert str(info.value).startswith(f"{path}: ")


def test_missing_path_folder_and_device(tmp_path):
    cases = corpus.path_cases(tmp_path)
    assert [name for name, _, _ in cases][:2] == ["missing_path", "folder"]
    for _, path, expected in cases:
        with pytest.raises(ImageError, match=expected) as info:
            load_image(path)
        assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize("case", ODD, ids=lambda c: c.name)
def test_odd_files_decode_to_the_known_rgb_answer(case):
    image = load_image(case.data, name=case.filename)
    assert image.dtype == np.uint8 and image.shape == (*case.shape, 3)
    assert image.flags.c_contiguous
    for (y, x), rgb in case.pixels.items():
        got = image[y, x].astype(int)
        assert np.abs(got - rgb).max() <= case.tolerance, f"pixel {(y, x)}: {tuple(got)} != {rgb}"


def test_exif_orientation_gives_the_displayed_orientation():
    """Stored 64 wide x 48 high with orientation 6: displayed 48 wide x 64 high, red on top, green on the right."""
    [case] = [c for c in ODD if c.name == "exif_rotate_90"]
    stored = np.asarray(Image.open(io.BytesIO(case.data)))
    assert stored.shape == (48, 64, 3)  # the raw pixels are landscape...
    image = load_image(case.data)
    assert image.shape == (64, 48, 3)   # ...the photo is portrait
    assert image[5:25, 5:35, 0].mean() > 200 and image[5:25, 5:35, 2].mean() < 60      # red top
    assert image[40:60, 5:35, 2].mean() > 200 and image[40:60, 5:35, 0].mean() < 60    # blue bottom
    assert image[20:44, 43:47, 1].mean() > 200                                         # green right edge


def test_alpha_is_composited_on_white():
    [case] = [c for c in ODD if c.name == "rgba"]
    image = load_image(case.data)
    assert tuple(image[10, 54]) == (255, 255, 255)      # alpha 0
    assert tuple(image[10, 10]) == (255, 0, 0)          # alpha 255
    assert np.abs(image[44, 10].astype(int) - (255, 127, 127)).max() <= 1  # alpha 128 over white


def test_pixel_guard_reads_only_the_header(monkeypatch):
    """The 108 MP header is refused by the pixel count before any decoding (a 300-byte file)."""
    [case] = [c for c in BAD if c.name == "bomb_108mp"]
    assert len(case.data) < 1000
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(1))
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", lambda self: decoded.append(1))
    with pytest.raises(ImageError, match=r"12000x9000 \(108 megapixels\), above the 100 megapixels limit"):
        load_image(case.data, name="bomb.png")
    assert decoded == []


def test_pixel_limit_is_configurable(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    with pytest.raises(ImageError, match="64x48 .* above the"):
        load_image(corpus.good_jpeg((64, 48)), name="x.jpg")


def test_no_bomb_warning_and_pillow_limit_untouched():
    before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        for case in BAD:
            if case.name == "oversize":
                continue
            with pytest.raises(ImageError):
                load_image(case.data, name=case.filename)
    assert Image.MAX_IMAGE_PIXELS == before


def test_file_size_limit_on_path_bytes_and_stream(tmp_path, small_file_limit):
    [case] = [c for c in BAD if c.name == "oversize"]
    assert len(case.data) == SMALL_LIMIT + 1
    path = tmp_path / "big.jpg"
    path.write_bytes(case.data)
    for source in (path, case.data, io.BytesIO(case.data)):
        with pytest.raises(ImageError, match="above the 20,000 bytes limit"):
            load_image(source, name="big.jpg")
    assert load_image(corpus.good_jpeg(), name="ok.jpg").shape == (64, 96, 3)  # under the limit: fine


def test_stream_is_read_only_up_to_the_limit(small_file_limit):
    class Endless(io.RawIOBase):
        served = 0

        def readable(self):
            return True

        def read(self, n=-1):
            assert n is not None and n >= 0, "an unbounded read of an upload"
            self.served += n
            return b"\0" * n

    stream = Endless()
    with pytest.raises(ImageError, match="above the"):
        load_image(stream, name="endless.jpg")
    assert stream.served == SMALL_LIMIT + 1


def test_file_object_name_is_used():
    stream = io.BytesIO(b"")
    stream.name = "upload.png"
    with pytest.raises(ImageError, match="^upload.png: file is empty"):
        load_image(stream)


@pytest.mark.parametrize("source", [3, None, ["a.jpg"]])
def test_wrong_source_type_is_a_type_error(source):
    with pytest.raises(TypeError, match="expected a path, bytes or a binary file object"):
        load_image(source)


def test_text_mode_stream_is_a_type_error():
    with pytest.raises(TypeError, match="binary mode"):
        load_image(io.StringIO("abc"), name="a.png")


@pytest.mark.parametrize("array, error, match", [
    ([[0]], TypeError, "numpy array"),
    (np.zeros((64, 64), np.uint8), ImageError, r"shape \(H, W, 3\)"),
    (np.zeros((64, 64, 4), np.uint8), ImageError, r"shape \(H, W, 3\)"),
    (np.zeros((64, 64, 3), np.float32), ImageError, "dtype uint8"),
    (np.zeros((31, 64, 3), np.uint8), ImageError, "at least 32 px"),
])
def test_validate_image_refuses_bad_arrays(array, error, match):
    with pytest.raises(error, match=match):
        validate_image(array)


def test_validate_image_keeps_the_input():
    image = np.arange(64 * 48 * 3, dtype=np.uint8).reshape(48, 64, 3)[:, ::-1]  # not contiguous
    before = image.copy()
    out = validate_image(image)
    assert out.flags.c_contiguous and np.array_equal(out, before) and np.array_equal(image, before)
