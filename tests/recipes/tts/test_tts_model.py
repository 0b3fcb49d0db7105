"""The acoustic model's length regulator and ONNX export, and the numpy Griffin-Lim vocoder."""

from __future__ import annotations

import io
import warnings

import numpy as np
import onnxruntime as ort
import pytest
import soundfile
import torch

from aiaas_recipes.tts.model import FastSpeech, regulate
from aiaas_recipes.tts.vocoder import Frames, griffin_lim, log_mel, wav_bytes


def test_length_regulator_repeats_each_phoneme_for_its_duration():
    hidden = torch.arange(6, dtype=torch.float32).view(2, 3, 1)  # phoneme i of row b carries 3b + i
    durations = torch.tensor([[2, 1, 3], [1, 2, 0]])
    frames, where, mask = regulate(hidden, durations)
    assert frames.shape == (2, 6, 1)
    assert frames[0, :, 0].tolist() == [0, 0, 1, 2, 2, 2]
    assert frames[1, :3, 0].tolist() == [3, 4, 4] and mask[1, :, 0].tolist() == [1, 1, 1, 0, 0, 0]
    assert where[0, :, 0].tolist() == pytest.approx([0, 0.5, 0, 0, 1 / 3, 2 / 3])


def _network() -> FastSpeech:
    torch.manual_seed(0)
    net = FastSpeech(30, 8, dim=16, layers=1).eval()
    with torch.no_grad():
        net.duration_out.bias.fill_(1.8)  # about 5 frames a phoneme
    return net


def test_speed_scales_the_predicted_length():
    net = _network()
    phonemes, lengths = torch.randint(2, 30, (1, 20)), torch.tensor([20])
    with torch.inference_mode():
        normal = int(net(phonemes, lengths, torch.tensor([1.0]))[1])
        fast = int(net(phonemes, lengths, torch.tensor([2.0]))[1])
    assert 0.35 < fast / normal < 0.65


def test_onnx_export_takes_any_phoneme_length_and_batch(tmp_path):
    net, path = _network(), tmp_path / "tts.onnx"
    axes = {"phonemes": {0: "b", 1: "n"}, "lengths": {0: "b"}, "speed": {0: "b"}, "mel": {0: "b", 1: "t"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        example = (torch.randint(2, 30, (2, 12)), torch.tensor([12, 7]), torch.ones(2))
        names = {"input_names": ["phonemes", "lengths", "speed"], "output_names": ["mel", "mel_lengths", "durations"]}
        torch.onnx.export(net, example, str(path), dynamic_axes=axes, dynamo=False, **names)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for rows, length in ((1, 5), (3, 40)):
        phonemes = torch.randint(2, 30, (rows, length))
        lengths = torch.full((rows,), length)
        lengths[-1] = length - 2  # a padded row
        speed = torch.full((rows,), 1.25)
        with torch.inference_mode():
            want = [t.numpy() for t in net(phonemes, lengths, speed)]
        feeds = {"phonemes": phonemes.numpy(), "lengths": lengths.numpy(), "speed": speed.numpy()}
        got = session.run(None, feeds)
        assert np.array_equal(got[2], want[2]) and got[0].shape == want[0].shape
        assert np.abs(got[0] - want[0]).max() < 1e-4


def test_griffin_lim_inverts_a_log_mel_deterministically():
    frames = Frames(rate=16000, n_fft=512, hop=128, n_mels=64)
    t = np.arange(8000) / 16000
    speech_like = (0.4 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 660 * t)) * np.hanning(8000)
    mel = log_mel(speech_like.astype(np.float32), frames)
    samples = griffin_lim(mel, frames, iterations=16)
    again = log_mel(samples, frames)
    loud = mel > mel.max() - 6  # bands within 6 nepers of the peak
    assert len(again) == len(mel)
    assert np.abs(again[loud] - mel[loud]).mean() < 0.5
    assert np.array_equal(samples, griffin_lim(mel, frames, iterations=16))
    decoded, rate = soundfile.read(io.BytesIO(wav_bytes(samples, 16000)))
    assert rate == 16000 and len(decoded) == len(samples)
