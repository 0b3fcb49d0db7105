"""Hostile files: ONNX external data and symlinks out of the model folder, archive entries escaping their folder,
decompression bombs in uploads. Each is refused with one line (or a 4xx), before anything is read or written."""

from __future__ import annotations

import io
import struct
import tarfile
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import free_port
from onnx import TensorProto, helper, numpy_helper

from aiaas_cli import storage
from aiaas_cli.errors import UserError
from aiaas_cli.serving.runtime import BadInput, OnnxModel


def _external_model(location: str) -> onnx.ModelProto:
    """y = x + w, with w stored as external data at ``location``."""
    weights = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    weights.ClearField("raw_data")
    weights.data_location = TensorProto.EXTERNAL
    for key, value in {"location": location, "offset": "0", "length": "16"}.items():
        entry = weights.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"aiaas": "{}"})
    return model


@pytest.fixture()
def folders(tmp_path):
    """A model folder, and beside it a folder with a file the model must not read."""
    (tmp_path / "model").mkdir()
    (tmp_path / "outside").mkdir()
    np.arange(4, dtype=np.float32).tofile(tmp_path / "outside" / "secret.bin")
    return tmp_path / "model", tmp_path / "outside"


@pytest.mark.parametrize("where", ["relative", "absolute", "symlink"])
def test_external_data_out_of_the_model_folder_is_refused(folders, where):
    model, outside = folders
    location = {"relative": "../outside/secret.bin", "absolute": str(outside / "secret.bin"), "symlink": "w.bin"}
    if where == "symlink":
        (model / "w.bin").symlink_to(outside / "secret.bin")
    onnx.save(_external_model(location[where]), str(model / "model.onnx"))
    with pytest.raises(UserError, match="External data path") as refused:
        OnnxModel(model / "model.onnx")
    assert "\n" not in str(refused.value)


def test_external_data_inside_the_model_folder_still_loads(folders):
    model, outside = folders
    (model / "w.bin").write_bytes((outside / "secret.bin").read_bytes())
    onnx.save(_external_model("w.bin"), str(model / "model.onnx"))
    out = OnnxModel(model / "model.onnx").session.run(None, {"x": np.zeros(4, np.float32)})[0]
    assert out.tolist() == [0, 1, 2, 3]


def test_a_model_file_linked_from_outside_its_folder_is_refused(folders):
    model, outside = folders
    (outside / "w.bin").write_bytes((outside / "secret.bin").read_bytes())
    onnx.save(_external_model("w.bin"), str(outside / "real.onnx"))
    (model / "model.onnx").symlink_to(outside / "real.onnx")
    with pytest.raises(UserError, match="link out of its folder"):
        OnnxModel(model / "model.onnx", folder=model)


def _tar(path: Path, *entries: tarfile.TarInfo, mode: str = "w:xz") -> Path:
    with tarfile.open(path, mode) as archive:
        yaml = b"service: x\nname: evil\nversion: v1\n"
        info = tarfile.TarInfo("bento.yaml")
        info.size = len(yaml)
        archive.addfile(info, io.BytesIO(yaml))
        for entry in entries:
            archive.addfile(entry, io.BytesIO(b"x" * entry.size) if entry.isfile() else None)
    return path


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


ESCAPES = {
    "parent steps": (_entry("../../escaped.txt"), "land outside the Bento's folder"),
    "parent steps mid-path": (_entry("src/a/../../../escaped.txt"), "land outside the Bento's folder"),
    "absolute name": (_entry("/tmp/escaped.txt"), "land outside the Bento's folder"),
    "symlink": (_entry("src/link", tarfile.SYMTYPE, "/etc/passwd"), "link or special file"),
    "hard link": (_entry("src/hard", tarfile.LNKTYPE, "/etc/passwd"), "link or special file"),
    "device": (_entry("src/dev", tarfile.CHRTYPE), "link or special file"),
}


@pytest.mark.parametrize("case", list(ESCAPES))
def test_bento_archive_entries_escaping_their_folder_are_refused(tmp_path, case, monkeypatch):
    entry, words = ESCAPES[case]
    archive = _tar(tmp_path / "evil.bento", entry)
    imported = []
    monkeypatch.setattr("bentoml.Bento.import_from", lambda *a, **k: imported.append(a))
    with pytest.raises(UserError, match=words):
        storage.import_archive(archive)
    assert imported == []  # refused before BentoML extracts anything
    assert not list(tmp_path.parent.rglob("escaped.txt"))


def test_zip_entries_escaping_their_folder_are_refused(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bento.yaml", "name: evil\n")
        archive.writestr("../escaped.txt", "x")
    with pytest.raises(UserError, match="land outside the Bento's folder"):
        storage.import_archive(path)


@pytest.mark.parametrize("data", [b"not an archive at all", b"\xfd7zXZ\x00" + b"\0" * 40])
def test_a_file_that_is_not_an_archive_is_one_line(tmp_path, cli, data):
    path = tmp_path / "broken.bento"
    path.write_bytes(data)
    result = cli("serve", str(path), "--port", str(free_port()), expect=1)
    assert "is not a Bento archive" in result.stderr and "Traceback" not in result.stderr


def _png_header(width: int, height: int, rows: int = 4) -> bytes:
    """A PNG that declares ``width`` x ``height`` 16-bit RGB pixels but holds only ``rows`` rows of them."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * (rows * (1 + width * 6)), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _image_adapter():
    from aiaas_recipes.image_cls.serving import build_adapter

    return build_adapter({"labels": ["a"], "input_size": 8, "mean": [0] * 3, "std": [1] * 3})


@pytest.mark.parametrize("side", [9_000, 100_000])  # 81 MP: above the 64 MP default; 10 GP: Pillow's own bomb guard
def test_a_png_declaring_huge_dimensions_is_refused_from_its_header(side):
    adapter = _image_adapter()
    bomb = _png_header(side, side)  # declares side^2 16-bit RGB pixels (6 bytes each decoded) in a few KB
    assert len(bomb) < 10_000
    tracemalloc.start()
    with pytest.raises(BadInput, match="limit"):
        adapter.decode(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000  # refused from the header: nothing was decoded


def test_images_together_above_the_request_pixel_budget_are_413_before_decoding():
    adapter = _image_adapter()  # 64 MP per image, 128 MP per request (the defaults)
    with pytest.raises(BadInput, match="pixels together") as refused:
        adapter.check_request([_png_header(7_000, 7_000)] * 3)  # 3 x 49 MP: each allowed, not together
    assert refused.value.status == 413


def _silent_flac(seconds: int, channels: int = 8, rate: int = 16000) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", rate, channels, format="FLAC", subtype="PCM_16") as out:
        for _ in range(seconds):
            out.write(np.zeros((rate, channels), np.int16))
    return buffer.getvalue()


def test_an_audio_file_declaring_a_long_duration_is_refused_before_decoding():
    from aiaas_recipes.audio_cls.serving import AudioAdapter

    meta = {"labels": ["a"], "rate": 16000, "clip": 16000, "n_mels": 40, "win": 400, "hop": 160, "n_fft": 512}
    adapter = AudioAdapter({**meta, "min_seconds": 0.1, "max_seconds": 3.0})
    bomb = _silent_flac(60)  # 60 s x 8 channels of silence: ~30 KB, 30 MB once decoded to float32
    assert len(bomb) < 200_000
    tracemalloc.start()
    with pytest.raises(BadInput, match="too long") as refused:
        adapter.decode(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert refused.value.status == 413
    assert peak < 5_000_000, f"{peak / 1e6:.0f} MB allocated to refuse it: the whole file was decoded"
