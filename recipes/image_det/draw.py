"""Torch-free drawing of detections onto the input image: what `aiaas predict --save-images` would write.

The predict stage has no hook for it yet (see the recipe's report); ``serving.annotate`` is ready for one.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageOps

COLOURS = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240))


def annotate(data: bytes, prediction: dict) -> bytes:
    """A PNG of the image (EXIF-rotated, as the model saw it) with each detection's box, label and score."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    canvas = ImageDraw.Draw(image)
    width = max(1, round(max(image.size) / 300))
    labels = sorted({d["label"] for d in prediction["detections"]})
    for found in prediction["detections"]:
        colour = COLOURS[labels.index(found["label"]) % len(COLOURS)]
        x1, y1, x2, y2 = found["box"]
        canvas.rectangle((x1, y1, x2, y2), outline=colour, width=width)
        text = f"{found['label']} {found['score']:.2f}"
        left, top, right, bottom = canvas.textbbox((x1, y1), text)
        canvas.rectangle((left, top - (bottom - top), right, y1), fill=colour)
        canvas.text((x1, y1 - (bottom - top)), text, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
