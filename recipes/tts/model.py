"""A small FastSpeech-style acoustic model: phoneme encoder, duration predictor, a length regulator written with
cumsum / compare / gather (so it exports to ONNX with a dynamic phoneme length and an output length computed from
the predicted durations), and a frame decoder to standardised log-mels."""

from __future__ import annotations

import torch
from torch import nn

MAX_FRAMES_PER_PHONEME = 80  # a predicted duration is capped here (0.64 s at 8 ms frames): output length is bounded


class ConvBlock(nn.Module):
    """Conv1d -> ReLU -> LayerNorm -> dropout, residual, padding kept at zero."""

    def __init__(self, dim: int, kernel: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2)
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # x (B, L, D), mask (B, L, 1)
        y = torch.relu(self.conv(x.transpose(1, 2)).transpose(1, 2))
        return (x + self.drop(self.norm(y))) * mask


class Stack(nn.Module):
    def __init__(self, dim: int, layers: int, kernel: int, dropout: float):
        super().__init__()
        self.blocks = nn.ModuleList(ConvBlock(dim, kernel, dropout) for _ in range(layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return x


def regulate(hidden: torch.Tensor, durations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Repeat each phoneme's vector for its duration: (frames (B, T, D), where in its phoneme each frame is (B, T, 1),
    frame mask (B, T, 1)); T is the longest total duration in the batch."""
    ends = torch.cumsum(durations, dim=1)  # (B, N)
    total = ends[:, -1]
    t = torch.arange(total.max(), device=hidden.device)  # data-dependent length: ONNX Range on a computed end
    index = (ends.unsqueeze(1) <= t.view(1, -1, 1)).sum(-1).clamp(max=hidden.shape[1] - 1)  # (B, T)
    frames = torch.gather(hidden, 1, index.unsqueeze(-1).expand(-1, -1, hidden.shape[2]))
    length = torch.gather(durations, 1, index).clamp(min=1)
    start = torch.gather(ends - durations, 1, index)
    where = ((t.view(1, -1) - start).to(hidden.dtype) / length.to(hidden.dtype)).unsqueeze(-1)
    mask = (t.view(1, -1) < total.view(-1, 1)).unsqueeze(-1).to(hidden.dtype)
    return frames * mask, where * mask, mask


class FastSpeech(nn.Module):
    """(phonemes (B, N) int64, lengths (B,) int64, speed (B,) float32) -> (mel (B, T, n_mels), mel_lengths (B,),
    durations (B, N))."""

    def __init__(self, vocab_size: int, n_mels: int, dim: int = 128, layers: int = 3, kernel: int = 5,
                 dropout: float = 0.1, duration_bias: float = 0.0):  # fmt: skip
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.encoder = Stack(dim, layers, kernel, dropout)
        self.duration = Stack(dim, 2, 3, dropout)
        self.duration_out = nn.Linear(dim, 1)
        nn.init.constant_(self.duration_out.bias, duration_bias)  # the corpus' mean log(1 + duration): a fast start
        self.position = nn.Linear(2, dim)
        self.decoder = Stack(dim, layers, kernel, dropout)
        self.mel_out = nn.Linear(dim, n_mels)

    def encode(self, phonemes: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(hidden (B, N, D), log(1 + duration) predictions (B, N), phoneme mask (B, N, 1))."""
        mask = torch.arange(phonemes.shape[1], device=phonemes.device).view(1, -1) < lengths.view(-1, 1)
        mask = mask.unsqueeze(-1).to(self.embed.weight.dtype)
        hidden = self.encoder(self.embed(phonemes) * mask, mask)
        log_durations = self.duration_out(self.duration(hidden.detach(), mask)).squeeze(-1) * mask.squeeze(-1)
        return hidden, log_durations, mask

    def decode(self, hidden: torch.Tensor, durations: torch.Tensor) -> torch.Tensor:
        frames, where, mask = regulate(hidden, durations)
        frames = frames + self.position(torch.cat([where, 1 - where], dim=-1)) * mask
        return self.mel_out(self.decoder(frames, mask)) * mask

    def teacher(self, phonemes, lengths, durations) -> tuple[torch.Tensor, torch.Tensor]:
        """Training: mels from the aligned durations, and the duration predictions to learn them."""
        hidden, log_durations, _ = self.encode(phonemes, lengths)
        return self.decode(hidden, durations), log_durations

    def forward(self, phonemes: torch.Tensor, lengths: torch.Tensor, speed: torch.Tensor):
        hidden, log_durations, mask = self.encode(phonemes, lengths)
        raw = torch.round((torch.exp(log_durations) - 1) / speed.view(-1, 1))
        durations = raw.clamp(min=1, max=MAX_FRAMES_PER_PHONEME).to(torch.int64) * mask.squeeze(-1).to(torch.int64)
        return self.decode(hidden, durations), durations.sum(1), durations
