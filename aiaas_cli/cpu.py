"""What this machine's CPU offers int8 inference: VNNI and AVX-512, read from /proc/cpuinfo on Linux.

Torch-free and onnxruntime-free. ONNX Runtime's x86 U8S8 kernels saturate without VNNI (VPMADDUBSW sums two
u8*s8 products into int16), so quantization settings depend on these flags. Elsewhere the features are "unknown".
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})  # AVX512-VNNI (Cascade Lake, Zen 4) or AVX-VNNI (Alder Lake)
AVX512_FLAG = "avx512f"


@dataclass(frozen=True)
class CpuFeatures:
    """The CPU's model name and feature flags; ``flags`` is None when they could not be read."""

    model: str
    flags: frozenset[str] | None
    source: str  # where the flags came from: "/proc/cpuinfo", or why they are unknown

    @property
    def known(self) -> bool:
        return self.flags is not None

    @property
    def vnni(self) -> bool | None:
        return None if self.flags is None else bool(self.flags & VNNI_FLAGS)

    @property
    def avx512(self) -> bool | None:
        return None if self.flags is None else AVX512_FLAG in self.flags

    @property
    def avx2(self) -> bool | None:
        return None if self.flags is None else "avx2" in self.flags

    def describe(self) -> str:
        """One phrase for logs, e.g. "AMD EPYC: AVX2, no AVX-512, no VNNI"."""
        if not self.known:
            return f"{self.model}: features unknown ({self.source})"
        names = (("AVX2", self.avx2), ("AVX-512", self.avx512), ("VNNI", self.vnni))
        return f"{self.model}: " + ", ".join(name if has else f"no {name}" for name, has in names)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: for the export report and the int8 model's metadata."""
        return {
            "model": self.model,
            "machine": platform.machine(),
            "avx2": self.avx2,
            "avx512": self.avx512,
            "vnni": self.vnni,
            "vnni_flags": None if self.flags is None else sorted(self.flags & VNNI_FLAGS),
            "source": self.source,
        }


def parse_cpuinfo(text: str, source: str = str(CPUINFO)) -> CpuFeatures:
    """The first processor's model name and flags in /proc/cpuinfo text (x86 "flags", Arm "Features")."""
    model, flags = None, None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Hardware") and model is None:
            model = value.strip()
        elif key in ("flags", "Features") and flags is None:
            flags = frozenset(value.split())
    model = model or platform.machine() or "unknown CPU"
    if flags is None:
        return CpuFeatures(model, None, f"no flags line in {source}")
    return CpuFeatures(model, flags, source)


def detect(path: Path = CPUINFO) -> CpuFeatures:
    """This machine's CPU features; unknown (flags None) where /proc/cpuinfo cannot be read."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return CpuFeatures(platform.processor() or platform.machine() or "unknown CPU", None, f"no {path}")
    return parse_cpuinfo(text, str(path))
