"""Build a recipe's config with Hydra's compose API, and turn Hydra's errors into one clear line."""

from __future__ import annotations

import difflib
import itertools
from typing import Any

from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.recipe_api import Recipe

AUTO = "auto"  # model=auto: the recipe's candidates compete on the validation split
_TYPE_NAMES = {bool: "true/false", int: "an integer", float: "a number", str: "a string"}


def _parse(overrides: list[str]):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        return OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as exc:
        raise ConfigError(f"cannot parse override: {str(exc).splitlines()[0]}") from None


def _hydra_compose(recipe: Recipe, overrides: list[str]):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from aiaas_cli import schema

    schema.register()
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(recipe.config_dir), version_base="1.3", job_name="aiaas"):
        return compose(config_name=recipe.config_name, overrides=overrides)


def leaf_keys(cfg: Any) -> dict[str, Any]:
    """Flatten a config to {'a.b': value, 'a.b.c': value}; dict nodes are kept as keys too."""
    from omegaconf import OmegaConf

    return _flatten(OmegaConf.to_container(cfg, resolve=False))


def _flatten(node: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in node.items():
        flat[f"{prefix}{key}"] = value
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
    return flat


def _explain(exc: Exception, recipe: Recipe, reference) -> ConfigError:
    """Turn a Hydra composition error into one line, with suggestions for mistyped keys."""
    text = str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    full_key = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.strip().startswith("full_key:")), "")
    if "could not be converted" in text or "Invalid type assigned" in text or "Unsupported value type" in text:
        return ConfigError(f"{full_key or 'a value'}: {first}", "see `--cfg` for the key's current value")
    if "Could not find" in text and "Available options" in text:
        options = [ln.strip() for ln in text.split("Available options")[1].splitlines()[1:]]
        options = [o for o in options if o]
        return ConfigError(first.split(": ", 1)[-1], f"available: {', '.join(options)}")
    if "Could not override" in text or "Key '" in text:
        key = first.split("'")[1] if "'" in first else ""
        close = difflib.get_close_matches(key, leaf_keys(reference), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "see `--cfg` for valid keys"
        return ConfigError(f"unknown config key '{key}'", hint)
    return ConfigError(f"invalid config: {first}")


def _check_type(key: str, value: Any, expected: Any) -> None:
    if expected is None or value is None or isinstance(value, str) and value.startswith("${"):
        return
    if isinstance(expected, bool) != isinstance(value, bool):
        ok = False
    elif isinstance(expected, float):
        ok = isinstance(value, (int, float))
    elif isinstance(expected, (int, list, dict)):
        ok = isinstance(value, type(expected))
    else:
        ok = True  # strings accept any scalar, as OmegaConf does
    if not ok:
        name = _TYPE_NAMES.get(type(expected), type(expected).__name__)
        raise ConfigError(f"{key} must be {name}, got {value!r}")


def _group_names(recipe: Recipe) -> set[str]:
    return {p.name for p in recipe.config_dir.iterdir() if p.is_dir()}


def _check_model_choice(recipe: Recipe, parsed: list) -> None:
    """`model=X` must be one of this task's models (a text model cannot train on images), or `auto` where the
    recipe has candidates to choose from."""
    for override in parsed:
        if override.key_or_group == "model" and recipe.models and not override.is_delete():
            choice = override.value()
            if choice == AUTO and not recipe.auto_candidates:
                raise ConfigError(f"model=auto: {recipe.name} has no candidate models to choose among",
                                  f"choose one of: {', '.join(recipe.models)}")  # fmt: skip
            if isinstance(choice, str) and choice != AUTO and choice not in recipe.models:
                raise ConfigError(
                    f"model={choice} is not a {recipe.name} model", f"choose one of: {', '.join(recipe.models)}"
                )


def is_auto(cfg: Any) -> bool:
    """Whether ``cfg`` asks for model=auto (train the recipe's candidates, keep the best)."""
    return cfg.model.get("kind") == AUTO


def model_keys(recipe: Recipe, name: str) -> dict[str, Any]:
    """The keys of the model config ``name`` (its file in conf/model/), read without composing."""
    from omegaconf import OmegaConf

    return leaf_keys(OmegaConf.load(recipe.config_dir / "model" / f"{name}.yaml"))


def candidate_names(recipe: Recipe, parsed: list, reference: Any) -> list[str]:
    """The candidates `model=auto` may train: `model.candidates` from the command line, else the recipe's."""
    names = next((o.value() for o in parsed if o.key_or_group == "model.candidates"), reference.model.candidates)
    names = list(recipe.auto_candidates if names is None else names)
    wrong = [name for name in names if not isinstance(name, str) or name == AUTO or name not in recipe.models]
    if wrong or not names:
        raise ConfigError(f"model.candidates: {wrong[0] if wrong else 'an empty list'} is not a {recipe.name} model",
                          f"choose among: {', '.join(m for m in recipe.models if m != AUTO)}")  # fmt: skip
    return names


def _split_candidate_overrides(recipe: Recipe, parsed: list, reference: Any) -> tuple[list, list[str]]:
    """With model=auto, `model.<key>` overrides that are not the auto node's own belong to the candidates that have
    that key (model.widths=[8]: the MLP's); a key no candidate has is unknown. Returns (the rest, theirs)."""
    own = set(reference.model)
    keys = {name: model_keys(recipe, name) for name in candidate_names(recipe, parsed, reference)}
    rest, theirs = [], []
    for override in parsed:
        key = override.key_or_group
        if not key.startswith("model.") or key.split(".")[1] in own:
            rest.append(override)
            continue
        key = key.removeprefix("model.")
        having = [found[key] for found in keys.values() if key in found]
        if not having and not override.is_add():
            known = {f"model.{k}" for found in keys.values() for k in found} | {f"model.{k}" for k in own}
            close = difflib.get_close_matches(f"model.{key}", known, n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}?" if close else "see `--cfg` and conf/model/ for valid keys"
            raise ConfigError(f"unknown config key 'model.{key}' (no candidate of model=auto has it)", hint)
        if having and not override.is_delete():
            _check_type(f"model.{key}", override.value(), having[0])
        theirs.append(override.input_line)
    return rest, theirs


def _check_auto(recipe: Recipe, cfg: Any, theirs: list[str]) -> None:
    """The auto node's own values, and the command line's keys for candidates kept in it for the train stage."""
    candidate_names(recipe, [], cfg)
    limit = cfg.model.get("time_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0):
        raise ConfigError(f"model.time_limit={limit} must be a number of seconds above 0, or null", "e.g. 600")
    cfg.model.overrides = theirs
    for name in _reached_by(recipe, cfg, theirs):  # a bad value for a candidate is a usage error, before any run
        candidate_config(recipe, cfg, name)


def _reached_by(recipe: Recipe, cfg: Any, theirs: list[str]) -> list[str]:
    """The candidates that the command line's candidate keys (`model.cell=gru`) reach."""
    keys = {line.split("=", 1)[0].lstrip("+").removeprefix("model.") for line in theirs}
    return [name for name in candidate_names(recipe, [], cfg) if keys & set(model_keys(recipe, name))]


def candidate_config(recipe: Recipe, cfg: Any, name: str) -> Any:
    """The config `model=<name>` gives with the same command line: ``cfg`` with its model node composed by Hydra
    from conf/model/<name>.yaml and the command line's keys for candidates (`model.overrides`)."""
    from hydra.errors import HydraException
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    keys = model_keys(recipe, name)
    theirs = [o for o in _parse(list(cfg.model.overrides)) if o.is_add() or o.key_or_group[len("model.") :] in keys]
    lines = [f"model={name}", *(o.input_line for o in theirs)]
    try:
        node = _hydra_compose(recipe, lines).model
    except (HydraException, OmegaConfBaseException) as exc:
        raise _explain(exc, recipe, cfg) from None
    candidate = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    with open_dict(candidate):
        candidate.model = node
    OmegaConf.set_struct(candidate, True)
    validate(recipe, candidate)
    return candidate


def _check_storage_spelling(key: str, override: Any) -> None:
    """`data.format` is the raw input's file format; users reach for it to ask for LitData shards."""
    if key == "data.format" and not override.is_delete() and str(override.value()).lower() == "litdata":
        raise ConfigError(
            "data.format is the raw input's file format, not how the preprocessed rows are stored",
            "stream from LitData shards with data.storage=litdata",
        )


def compose(recipe: Recipe, overrides: list[str]) -> Any:
    """The composed, type-checked config for ``recipe`` with Hydra ``overrides`` applied."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    parsed = _parse(overrides)
    _check_model_choice(recipe, parsed)
    groups = _group_names(recipe)
    choices = [o.input_line for o in parsed if o.key_or_group in groups]
    try:
        reference = _hydra_compose(recipe, choices)
    except (HydraException, OmegaConfBaseException) as exc:
        raise _explain(exc, recipe, _hydra_compose(recipe, [])) from None
    theirs = []
    if is_auto(reference):
        parsed, theirs = _split_candidate_overrides(recipe, parsed, reference)
    known = leaf_keys(reference)
    for override in parsed:
        key = override.key_or_group
        _check_storage_spelling(key, override)
        if key in groups or override.is_delete() or override.is_add():
            continue
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}?" if close else "see `--cfg`; add new keys with +key=value"
            raise ConfigError(f"unknown config key '{key}'", hint)
        _check_type(key, override.value(), known[key])
    try:
        cfg = _hydra_compose(recipe, [o.input_line for o in parsed])
    except (HydraException, OmegaConfBaseException) as exc:
        raise _explain(exc, recipe, reference) from None
    if is_auto(cfg):
        _check_auto(recipe, cfg, theirs)
    validate(recipe, cfg)
    return cfg


def validate(recipe: Recipe, cfg: Any) -> None:
    """Ranges of the shared keys (`schema`), then the recipe's own checks: a usage error before any run exists."""
    from aiaas_cli import schema

    schema.check_bounds(cfg)
    recipe.check_config(cfg)


def sweep(overrides: list[str]) -> list[list[str]]:
    """Expand Hydra sweep syntax (a=1,2 b=range(3)) into one override list per job."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    batches = BasicSweeper.split_arguments(_parse(overrides), max_batch_size=None)
    return list(itertools.chain.from_iterable(batches))


def to_yaml(cfg: Any) -> str:
    """The resolved config as YAML, credentials masked (it is printed and saved with the run)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(to_plain(cfg)))


def to_plain(cfg: Any) -> dict:
    """The resolved config as plain data, credentials masked."""
    from omegaconf import OmegaConf

    from aiaas_cli import redact

    return redact.config(OmegaConf.to_container(cfg, resolve=True))


def instantiate(node: Any, **kwargs: Any) -> Any:
    """Hydra's instantiate, with our own errors unwrapped and a bad _target_ reported as a config error."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    node = _without_own_keys(node)
    try:
        return hydra_instantiate(node, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, UserError):
            raise cause from None
        target = node.get("_target_") if hasattr(node, "get") else None
        raise ConfigError(f"cannot build {target}: {str(exc).splitlines()[-1]}") from None


def _without_own_keys(node: Any) -> Any:
    """A model config without the keys aiaas reads itself (`init_from`): they are not the constructor's."""
    from omegaconf import DictConfig, OmegaConf

    from aiaas_cli.schema import OWN_MODEL_KEYS

    if not hasattr(node, "get") or node.get("_target_") is None or not any(k in node for k in OWN_MODEL_KEYS):
        return node
    if isinstance(node, DictConfig):
        return OmegaConf.masked_copy(node, [k for k in node if k not in OWN_MODEL_KEYS])
    return {k: v for k, v in node.items() if k not in OWN_MODEL_KEYS}
