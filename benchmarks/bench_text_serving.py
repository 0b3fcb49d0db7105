"""text-cls serving throughput: the packaged Bento vs a naive Flask app, at 1, 8 and 32 clients.

The model is the text-cls recipe's default architecture (TextTransformer width 64, 2 layers, 4 heads, ff 128,
max_length 64, WordPiece vocab 8,000 trained on the built-in corpus), untrained: exported as text-cls exports it
(an untrained model costs the same to serve). The Bento is what `aiaas package` builds (the recipe's serve
defaults), served by `aiaas serve`; the baseline is a Flask app (`app.run()` defaults) running the same torch-free
adapter + ONNX Runtime per request. Bodies are JSON `{"text": ...}` from the built-in corpus. The server start,
free ports and bounds are benchmarks/serving_kit.py's; clients are aiohttp coroutines in this process on
loopback, so they share the CPU with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.serving_kit import AIAAS, CONCURRENCY, Process, flask_app, free_port, load, package

FLASK_APP = flask_app('predictor.predict_decoded([predictor.decode(request.get_json()["text"])], k=5)[0]')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time bound per measurement")
    parser.add_argument("--max-requests", type=int, default=4000, help="request bound per measurement")
    parser.add_argument("--texts", type=int, default=256, help="corpus texts cycled through as request bodies")
    return parser.parse_args()


def text_model(workdir: Path, n_texts: int) -> tuple[Path, list[str]]:
    """The recipe's default TextTransformer, untrained, exported with the text-cls metadata; and request texts."""
    import torch
    from omegaconf import OmegaConf

    from aiaas_cli import config, recipes
    from aiaas_cli.recipe_api import bundled_conf_dir
    from aiaas_cli.stages.export import _torch_export, embed_metadata
    from aiaas_recipes.common.text import tokenizer
    from aiaas_recipes.text_cls import sources
    from aiaas_recipes.text_cls.export import export_spec
    from aiaas_recipes.text_cls.model import TextTransformer

    cfg = config.compose(recipes.load("text-cls"), [])
    corpus, encoding = sources.builtin_file(cfg.data.builtin)
    table = sources.read(corpus, sources.detect_format(corpus, None), cfg.data, encoding)
    classes = sorted(set(table.labels))
    tok_cfg, max_length = cfg.data.tokenizer, int(cfg.data.max_length)
    tok = tokenizer.train(
        table.texts, kind=tok_cfg.kind, vocab_size=int(tok_cfg.vocab_size), min_frequency=int(tok_cfg.min_frequency)
    )
    torch.manual_seed(0)
    model = {k: v for k, v in OmegaConf.to_container(cfg.model).items() if k != "_target_"}
    net = TextTransformer(len(classes), vocab_size=tok.get_vocab_size(), max_length=max_length, **model).eval()
    meta = {
        "classes": classes,
        "max_length": max_length,
        "tokenizer": tok.to_str(),
        "model": {"_target_": "transformer"},
    }
    spec = export_spec(net, meta)
    path = workdir / "model.onnx"
    _torch_export(net, spec, path, OmegaConf.load(bundled_conf_dir() / "export" / "onnx.yaml"))
    metadata = {**spec.metadata, "recipe": "text-cls", "serving_module": "aiaas_recipes.text_cls.serving"}
    metadata.update(input_names=spec.input_names, output_names=spec.output_names)
    embed_metadata(path, metadata)
    rng = np.random.default_rng(0)
    texts = [table.texts[i] for i in rng.choice(len(table.texts), n_texts, replace=False)]
    return path, texts


def text_body(text: str) -> dict:
    return {"json": {"text": text}}


def measure(url: str, texts: list[str], args: argparse.Namespace) -> dict[int, dict]:
    results = {}
    for clients in CONCURRENCY:
        asyncio.run(load(url, texts, clients, 0.5, 4 * clients, body=text_body))  # warm-up: sessions, batching
        results[clients] = asyncio.run(load(url, texts, clients, args.seconds, args.max_requests, body=text_body))
    return results


def main() -> None:
    args = parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-text-serving-") as tmp:
        os.environ["AIAAS_HOME"] = str(Path(tmp) / "home")
        os.environ.setdefault("BENTOML_HOME", str(Path(tmp) / "bentoml"))
        path, texts = text_model(Path(tmp), args.texts)
        tag, settings = package("text-cls", path)
        results = {}
        port = free_port()
        bento = Process([AIAAS, "serve", tag, "--port", str(port)], port, "/readyz", Path(tmp) / "bento.log")
        try:
            results["bento"] = measure(f"{bento.url}/predict", texts, args)
        finally:
            bento.stop()
        port = free_port()
        flask = Process([sys.executable, "-c", FLASK_APP, str(path), str(port)], port, "/predict", Path(tmp) / "f.log")
        try:
            results["flask"] = measure(f"{flask.url}/predict", texts, args)
        finally:
            flask.stop()

    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_avg = os.getloadavg()[0]
    print(f"{when}; {os.cpu_count()} CPU cores, load average {load_avg:.1f}; {args.seconds:.0f}s per measurement")
    print(f"{len(texts)} built-in corpus texts as request bodies")
    print(f"Bento {tag}: serve settings {settings}")
    print(f"{'server':<7} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for server, rows in results.items():
        for clients, row in rows.items():
            rps, p50, p99, errors = row["rps"], row["p50"], row["p99"], row["failures"]
            print(f"{server:<7} {clients:>7} {rps:>8.1f} {p50:>8.1f} {p99:>8.1f} {errors:>6}")
    ratio = results["bento"][32]["rps"] / results["flask"][32]["rps"]
    print(f"\nat 32 clients: Bento/Flask {ratio:.2f}x (issue 14 target >= 3x) {'PASS' if ratio >= 3 else 'MISS'}")
    print(f"total {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
