"""text-gen on the built-in instructions: `aiaas pipeline text-gen` beside its trigram baseline (exact match, ratio),
and a gpt_small training step on one intra-op thread against two (why conf/text-gen.yaml sets trainer.threads=1).

    python benchmarks/bench_text_gen.py            # both
    python benchmarks/bench_text_gen.py --steps    # the step timing only
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def pipeline(*overrides: str) -> None:
    started = time.perf_counter()
    done = subprocess.run(["aiaas", "pipeline", "text-gen", "export.register=false", *overrides, "--json"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    wall = time.perf_counter() - started
    out = json.loads(done.stdout)
    metrics, base = out["metrics"], out["metrics"]["baseline"]
    ratio = metrics["exact_match"] / max(base["exact_match"], 1e-9)
    print(f"exact_match {metrics['exact_match']:.3f} vs {base['name']} {base['exact_match']:.3f} ({ratio:.1f}x); "
          f"perplexity {metrics['perplexity']:.3f} vs {base['perplexity']:.3f}; "
          f"by task {metrics['exact_match_by_task']}; "
          f"greedy parity {out['parity']['greedy_agreement']}; {out['epochs']} epochs; pipeline {wall:.0f} s wall; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


STEP = """
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
from aiaas_recipes.text_gen.model import GPTSmall, row_logits, lm_loss
net = GPTSmall(600, 256, 96, 2, 4, 192)
opt = torch.optim.AdamW(net.parameters(), 3e-3)
ids = torch.randint(0, 600, (16, 29)); lengths = torch.full((16,), 29)
for i in range(22):
    if i == 2: t = time.perf_counter()
    loss = lm_loss(row_logits(net, ids, lengths), ids); opt.zero_grad(); loss.backward(); opt.step()
print((time.perf_counter() - t) / 20)
"""


def steps() -> None:
    times = {n: float(subprocess.run([sys.executable, "-c", STEP, str(n)], capture_output=True, text=True,
                                     check=True).stdout) for n in (1, 2)}  # fmt: skip
    print(f"train step (16 rows x 29 tokens): 1 thread {times[1] * 1000:.0f} ms, 2 threads {times[2] * 1000:.0f} ms "
          f"({times[2] / times[1]:.1f}x); load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    steps()
    if "--steps" not in sys.argv:
        pipeline()
        pipeline("seed=1", "data.split.seed=1")
