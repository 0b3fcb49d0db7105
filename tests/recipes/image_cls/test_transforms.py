"""decode: every format and mode to RGB uint8, EXIF rotation, bad input as BadImage; and the numpy helpers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from imagefiles import FORMATS, image_bytes, noise_bytes
from PIL import Image

from aiaas_recipes.common.scores import softmax, top_k
from aiaas_recipes.common.vision.transforms import BadImage, decode, normalize

RED, BLUE = (255, 0, 0), (0, 0, 255)


def encode(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def close_to(pixel: np.ndarray, color, tolerance: int = 40) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.asarray(color)) <= tolerance))


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("size", [(1, 1), (20, 20), (300, 20), (15, 200), (97, 61)])
def test_every_format_and_shape_decodes_to_the_requested_square(fmt, size):
    out = decode(image_bytes(fmt, size, color=(30, 200, 90)), 16)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    # GIF quantises to a palette and JPEG/WebP are lossy: the colour stays close, not exact.
    assert close_to(out[8, 8], (30, 200, 90))


def test_decode_accepts_a_path_as_well_as_bytes(tmp_path):
    path = tmp_path / "a.webp"
    path.write_bytes(noise_bytes("webp", (30, 20), 1))
    assert np.array_equal(decode(path, 8), decode(str(path), 8))
    assert np.array_equal(decode(path, 8), decode(path.read_bytes(), 8))


def two_halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    return image


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation_is_honoured(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation  # 6: rotate 90° clockwise to display, 8: counter-clockwise
    # Large enough that the JPEG draft (reduced-scale) decoding path is taken too.
    out = decode(encode(two_halves(400, 200), "JPEG", exif=exif, quality=95), 16)
    # Upright the image is portrait: the red left half ends up on top (6) or at the bottom (8).
    top, bottom = (RED, BLUE) if orientation == 6 else (BLUE, RED)
    assert close_to(out[2, 8], top) and close_to(out[13, 8], bottom)


def test_without_exif_the_image_is_not_rotated():
    out = decode(encode(two_halves(400, 200), "JPEG", quality=95), 16)
    assert close_to(out[8, 2], RED) and close_to(out[8, 13], BLUE)


def test_grayscale_becomes_three_equal_channels():
    out = decode(encode(Image.new("L", (10, 30), 128)), 8)
    assert out.shape == (8, 8, 3) and np.all(out == 128)


def test_bilevel_and_cmyk_become_rgb():
    assert np.all(decode(encode(Image.new("1", (10, 10), 1)), 4) == 255)
    cmyk = decode(encode(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), "JPEG", quality=95), 4)
    assert close_to(cmyk[2, 2], RED)


def test_palette_with_transparency_is_composited_on_white():
    image = Image.new("P", (12, 12), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 12, 6))  # top half: opaque red; bottom half: index 0, transparent
    out = decode(encode(image, transparency=0), 12)
    assert out.shape == (12, 12, 3)
    assert close_to(out[1, 6], RED, 0) and close_to(out[10, 6], (255, 255, 255), 0)


@pytest.mark.parametrize(
    ("mode", "color", "expected"),
    [
        ("RGBA", (255, 0, 0, 255), RED),
        ("RGBA", (255, 0, 0, 0), (255, 255, 255)),  # fully transparent: the white background
        ("RGBA", (0, 0, 0, 128), (127, 127, 127)),  # half-transparent black: mid grey
        ("LA", (0, 255), (0, 0, 0)),
        ("LA", (0, 0), (255, 255, 255)),
    ],
)
def test_alpha_is_composited_on_white(mode, color, expected):
    out = decode(encode(Image.new(mode, (10, 10), color)), 6)
    assert close_to(out[3, 3], expected, 2)


@pytest.mark.parametrize(("value", "expected"), [(65535, 255), (0, 0), (32768, 128), (257 * 100, 100), (200, 1)])
def test_sixteen_bit_png_is_scaled_to_eight_bits(value, expected):
    data = encode(Image.fromarray(np.full((10, 14), value, dtype=np.uint16)))
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    out = decode(data, 8)
    assert out.dtype == np.uint8 and out.shape == (8, 8, 3)
    assert np.all(np.abs(out.astype(int) - expected) <= 1)


def test_sixteen_bit_tiff_keeps_its_gradient():
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (64, 1))
    out = decode(encode(Image.fromarray(ramp), "TIFF"), 8)
    assert out[4, 0, 0] < 30 and out[4, 7, 0] > 225
    assert np.all(np.diff(out[4, :, 0].astype(int)) >= 0)


def test_float_tiff_in_unit_range_is_scaled_to_eight_bits():
    out = decode(encode(Image.fromarray(np.full((6, 6), 0.5, dtype=np.float32)), "TIFF"), 4)
    assert np.all(np.abs(out.astype(int) - 128) <= 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (np.random.default_rng(0).bytes(2000), "not an image"),
        (b"name,label\ncat.jpg,cat\n", "not an image"),
        (noise_bytes("jpg", (64, 64), 1)[:300], "unreadable image"),
        (noise_bytes("png", (64, 64), 2)[:200], "unreadable image"),
        (noise_bytes("png", (64, 64), 2)[:30], "damaged PNG image"),
    ],
    ids=["empty", "random", "text", "truncated-jpeg", "truncated-png", "png-header-only"],
)
def test_bad_input_raises_bad_image_with_a_clear_message(data, message):
    with pytest.raises(BadImage, match=message) as caught:
        decode(data, 8)
    assert "\n" not in str(caught.value)


def test_empty_file_on_disk(tmp_path):
    (tmp_path / "x.png").touch()
    with pytest.raises(BadImage, match="empty file"):
        decode(tmp_path / "x.png", 8)


def test_pixel_limit_rejects_before_decoding():
    data = image_bytes("png", (100, 80))
    with pytest.raises(BadImage, match="100x80 pixels, above the limit of 5000"):
        decode(data, 8, max_pixels=5000)
    assert decode(data, 8, max_pixels=8000).shape == (8, 8, 3)


def test_normalize_layout_and_values():
    batch = np.zeros((2, 4, 5, 3), dtype=np.uint8)
    batch[1] = 255
    x = normalize(batch, [0.5, 0.5, 0.5], [0.25, 0.25, 0.5])
    assert x.shape == (2, 3, 4, 5) and x.dtype == np.float32 and x.flags["C_CONTIGUOUS"]
    assert np.allclose(x[0, :2], -2.0) and np.allclose(x[0, 2], -1.0)
    assert np.allclose(x[1, :2], 2.0) and np.allclose(x[1, 2], 1.0)


def test_softmax_rows_sum_to_one_and_survive_large_logits():
    p = softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), 0.0]]))
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=-1), 1.0)
    assert np.allclose(p[0], [0.5, 0.5, 0.0]) and np.allclose(p[1], [0.2, 0.6, 0.2])


def test_top_k_orders_and_clips_k():
    p = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    best = top_k(p, ["a", "b", "c"], 2)
    assert [[d["label"] for d in row] for row in best] == [["b", "c"], ["a", "c"]]
    assert best[0][0]["score"] == pytest.approx(0.7) and isinstance(best[0][0]["score"], float)
    assert len(top_k(p, ["a", "b", "c"], 10)[0]) == 3
    assert len(top_k(p, ["a", "b", "c"], 0)[0]) == 1
