"""The recipe contract: everything task-shaped. Stages call these hooks and never ask which task it is.

A recipe module must stay light at import time (no torch): `aiaas recipes` imports it to list it. The
registry checks a recipe when it is loaded (`check`), so a missing hook fails before any training.

Torch-free serving half: ``serving_module`` names a module that needs only numpy/onnxruntime and defines
  - ``build_adapter(metadata, **limits)`` -> an `Adapter` (decode a request item, batch, postprocess);
  - ``SERVICE``: "module:Class" of the recipe's BentoML service (its HTTP request and response types);
  - ``read_inputs(paths)`` -> (name, payload) pairs for `aiaas predict` (optional: one file = one payload);
  - ``INPUT_SUFFIXES`` (optional): the suffixes of the files `aiaas predict` takes from a folder or an S3 prefix
    (others there, such as transcripts beside recordings, are not inputs); a file named on its own always is one;
  - ``http_request(name, payload, k)`` -> keyword arguments of ``requests.post`` for `predict --url`;
    ``http_response(predictions)`` -> the body its service's `/predict` answers for those predictions, and
    ``http_predictions(body)`` -> the per-item predictions back from such a body;
  - ``to_row(name, payload, prediction)`` -> the flat record `aiaas predict` writes for one input;
  - ``render_output(payload, prediction)`` -> (suffix, bytes) of the file a person looks at for one prediction
    (optional: an annotated image, a mask PNG, a WAV), written by `aiaas predict --save DIR`.

Candidates (`model=auto`): ``auto_candidates`` names the `model=` options that `model=auto` trains, cheapest first;
each is composed as `model=<name>` would be, trained into its own checkpoint and scored on the validation split with
``evaluate(...)[metrics.headline]``; the best becomes the run's model. ``candidates(cfg, manifest)`` may drop the ones
that do not fit the data (a network on 50 rows); ``load_model`` must read the checkpoint of every candidate (recipes
dispatch on the file's suffix). A recipe without candidates refuses `model=auto`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

CONTRACT_VERSION = 2
SERVING_HOOKS = ("build_adapter", "SERVICE", "http_request", "http_response", "http_predictions", "to_row")


def bundled_conf_dir() -> Path:
    """The `conf/` folder shipped with aiaas (a package, so it also works from a wheel)."""
    import aiaas_conf

    return Path(aiaas_conf.__file__).resolve().parent


@dataclass(frozen=True)
class Metrics:
    """What evaluation reports and what training watches.

    ``names`` are scalar keys of the recipe's evaluation report: logged as ``test_<name>``, shown in --json
    ``metrics`` (with the baseline's, when the report has one). ``headline`` is the one that judges a model
    (int8 acceptance, sweeps); ``monitor``/``mode`` pick the best checkpoint and drive early stopping.
    """

    names: tuple[str, ...]
    headline: str
    higher_is_better: bool = True
    # the headline lies in [0, 1]: int8's loss is counted in points (0.01); otherwise (MASE, RMSE, MCD) in percent
    # of the float model's score, since a point means nothing on an open scale
    bounded: bool = True
    monitor: str = "val_loss"
    mode: str = "min"
    details: tuple[str, ...] = ()  # non-scalar report keys that --json carries too (per-class figures)


@dataclass
class ExportSpec:
    """How to turn a trained network into ONNX, and what the served model needs to know."""

    example_inputs: tuple  # torch tensors; a batch of 2+ so the batch axis stays symbolic
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]  # e.g. {"image": {0: "batch"}, "logits": {0: "batch"}}
    metadata: dict[str, Any] = field(default_factory=dict)  # JSON-able: labels, sizes, vocabularies
    # a model that is not torch (scikit-learn) writes its own ONNX file: convert(path, opset)
    convert: Callable[[Path, int], None] | None = None
    module: Any = None  # the torch module this graph exports (None: the trained network itself)
    # further graphs of one model ({"decoder": ExportSpec(module=...)}), written as <name>.onnx beside model.onnx,
    # served as OnnxModel.graphs[name]; the adapter's ``run`` drives them (see Adapter.run)
    graphs: dict[str, ExportSpec] = field(default_factory=dict)


@dataclass
class Parity:
    """How far the ONNX model's outputs are from the trained model's, in the recipe's own terms."""

    max_abs_diff: float
    agreement: float  # share of samples whose prediction is the same (the recipe says what "same" means)
    samples: int
    agreement_name: str = "agreement"  # e.g. "top1_agreement"
    worst: str = ""  # the sample that differs most, in the task's words ("image 3: 'cat' 0.91 -> 'dog' 0.52")
    setting: str = "min_agreement"  # the export.* key that would let this parity pass (named in the failure hint)

    def as_dict(self) -> dict[str, Any]:
        return {"max_abs_diff": self.max_abs_diff, self.agreement_name: self.agreement, "samples": self.samples}


@runtime_checkable
class Estimator(Protocol):
    """A model that trains itself (scikit-learn); Lightning modules are trained by the train stage."""

    def fit(self, dataset_dir: Path, manifest: dict) -> dict[str, float]:
        """Train on the train split; return validation metrics (the monitored one among them)."""
        ...

    def save(self, path: Path) -> None:
        """Write the trained model to ``path`` (a file the recipe's ``load_model`` reads back)."""
        ...


class Adapter(Protocol):
    """The torch-free half of a recipe, used by `predict`, export checks and the Bento alike."""

    # Optional: the most answers per input the exported model can give (a graph's baked-in top-k); `predict --top-k`
    # above it is refused rather than cut. Absent: the serving module's MAX_K, if any, is the limit.
    max_k: int | None

    def check_request(self, payloads: list[Any]) -> None:
        """Optional: refuse a whole request before any item is decoded (e.g. the summed pixels of its images);
        raises runtime.BadInput. The service calls it when the adapter has it; without it every request goes on."""
        ...

    def run(self, model: Any, feeds: dict[str, Any]) -> dict[str, Any]:
        """Optional: the outputs for one batch of feeds when one ONNX Runtime call is not the whole model: a loop of
        steps over ``model`` (runtime.OnnxModel: ``model.run`` and ``model.graphs[name].run``), such as a decoder with
        past key/values. Without it, feeds go through ``model.run`` once. Export's parity check, `predict` and the
        service all call it the same way (runtime.runner)."""
        ...

    def decode(self, payload: Any) -> Any:
        """One request item ready to batch; raises runtime.BadInput saying what is wrong with it."""
        ...

    def batch(self, items: list[Any]) -> dict[str, Any]:
        """The model's feeds (ONNX input name -> numpy array) for decoded items."""
        ...

    def postprocess(self, outputs: dict[str, Any], items: list[Any], k: int) -> list[dict]:
        """One JSON-ready prediction per item, as the service answers it; ``k``: how many alternatives."""
        ...


class Recipe:
    """Base class for a task. Subclasses fill in the names and the hooks below."""

    name: str = ""
    description: str = ""
    config_name: str = ""  # the primary Hydra config, e.g. "image-cls"
    serving_module: str = ""  # torch-free module, see the module docstring
    metrics: Metrics | None = None
    models: tuple[str, ...] = ()  # the `model=` options of this task (files in conf/model/)
    bento_packages: tuple[str, ...] = ()  # pip packages the service needs beyond what its modules import
    system_packages: tuple[str, ...] = ()  # apt packages for the Bento's container image
    auto_candidates: tuple[str, ...] = ()  # the `model=` options `model=auto` tries, cheapest first (see above)

    REQUIRED = (
        "fingerprint", "build_dataset", "dataset_summary", "model", "load_model", "evaluate",
        "export_spec", "export_samples", "reference_outputs", "compare_outputs", "score_outputs",
        "smoke_overrides",
    )  # fmt: skip

    @property
    def config_dir(self) -> Path:
        return bundled_conf_dir()

    def check_config(self, cfg: Any) -> None:
        """Raise a ConfigError for settings of the recipe's own groups that cannot work (a size of 0, split
        fractions summing past 1, a data path that does not exist). Called when the config is composed, before any
        run is opened, so a usage mistake leaves nothing behind; the shared keys' ranges are checked already."""

    def candidates(self, cfg: Any, manifest: dict) -> list[str]:
        """The models `model=auto` trains on this dataset, in order: the user's `model.candidates`, else
        ``auto_candidates``. A recipe may drop the ones that do not fit the data's size (call this, then filter)."""
        return list(cfg.model.get("candidates") or self.auto_candidates)

    # preprocess: raw input -> dataset dir (arrays + manifest.json)
    def fingerprint(self, cfg: Any) -> str:
        """A key for the raw input and the preprocessing settings; same key -> cached dataset."""
        raise NotImplementedError

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        """Write arrays into ``out_dir`` and return the manifest (JSON-able).

        The manifest needs "splits" ({split: number of samples}); it may list "skipped" inputs
        ({"file", "reason"}; "skipped_what" names them, default "unreadable file(s)"), "duplicates"
        ({"cross_split_groups": n}) and "warnings" (lines to show the user).
        """
        raise NotImplementedError

    def dataset_summary(self, manifest: dict) -> dict:
        """Task-shaped keys for the preprocess --json payload (classes, dropped columns...)."""
        raise NotImplementedError

    # train: a LightningModule (with datamodule) or an Estimator
    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        """The LightningDataModule; not called when ``model`` returns an Estimator."""
        raise NotImplementedError

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        """A LightningModule whose checkpoints carry an "aiaas" dict (recipe name, model config, sizes),
        or an `Estimator`. Built from the config."""
        raise NotImplementedError

    def checkpoint_suffix(self, cfg: Any) -> str:
        """The file suffix of a saved Estimator (Lightning checkpoints are always .ckpt)."""
        return ".model"

    def load_model(self, path: Path) -> tuple[Any, dict]:
        """The trained network (eval mode) and its metadata, read safely from a checkpoint file."""
        raise NotImplementedError

    # evaluate: (network, dataset dir) -> report
    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        """A JSON-able report with every key of ``metrics.names``; optionally "baseline" (same keys and
        "name") and "compare" ({"title", "columns", "rows"}) for a side-by-side table."""
        raise NotImplementedError

    def report_tables(self, report: dict) -> list[Any]:
        """Rich renderables that show ``report`` (per-class table, residual summary...)."""
        return []

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        """Write evaluation plots for ``report`` into ``out_dir``; return their paths."""
        return []

    # export: network -> model.onnx, checked against the trained model on held-out samples
    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        """Example input, ONNX input/output names, dynamic axes and serving metadata for ``network``."""
        raise NotImplementedError

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        """Up to ``limit`` model-ready inputs ({ONNX input name: numpy batch}) and their targets.

        Export uses the test split for the parity check and the train split to calibrate int8 quantization.
        """
        raise NotImplementedError

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, Any]:
        """The trained model's own outputs for ``inputs`` ({ONNX output name: numpy}), to compare with ONNX."""
        raise NotImplementedError

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        """How closely ONNX Runtime's outputs match the trained model's, in the task's terms: the share of samples
        whose answer (label, boxes, mask, value within a tolerance, transcript) is the same, and the worst one."""
        raise NotImplementedError

    def parity_problem(self, parity: Parity, export_cfg: Any) -> str | None:
        """Why ``parity`` is not good enough to keep the ONNX model (None: it is): fewer samples than
        export.min_agreement get the same answer. The raw max |diff| is reported, never judged: it differs by CPU
        kernel (AVX2, AVX-512) long before any answer does."""
        need = float(export_cfg.min_agreement)
        if parity.agreement >= need:
            return None
        name = parity.agreement_name.replace("_", " ")
        worst = f"; worst: {parity.worst}" if parity.worst else ""
        return f"{name} {parity.agreement:.2%} is below export.min_agreement={need}{worst}"

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        """The headline metric of raw model outputs; judges int8 quantization."""
        raise NotImplementedError

    # package: what the served model starts with beyond model.onnx
    def package_files(self, cfg: Any, onnx_path: Path, folder: Path) -> None:
        """Write files the served model starts with into the empty ``folder`` (e.g. state built from a config
        setting with the exported model at ``onnx_path``); they go into the Bento's model folder beside model.onnx,
        where the service finds them. Nothing by default."""

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        """A few raw held-out inputs as (name, payload), as `predict` reads them and the service takes them."""
        return []

    # checks
    def smoke_overrides(self, workdir: Path) -> list[str]:
        """Config overrides for a run that takes seconds: a tiny generated dataset written under ``workdir``
        and the smallest model. The contract test runs every recipe this way."""
        raise NotImplementedError
