"""Typed YAML config: strict models, ``key.sub=value`` overrides, clear errors.

Every config section is a :class:`StrictModel` (pydantic, unknown keys
forbidden). :func:`load_config` reads a YAML file, applies command-line
overrides, validates, and turns any problem into a :class:`ConfigError` that
names the file and the dotted key.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Type, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from lmt.errors import ConfigError

T = TypeVar("T", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for config sections: unknown keys are errors, assignments validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into (``["a", "b", "c"]``, parsed YAML value)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.sub=value")
    key, raw = text.split("=", 1)
    key = key.strip().lstrip("-")
    if not key:
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_overrides(data: dict, overrides: Iterable[str]) -> dict:
    """Apply ``key.sub=value`` overrides to a nested dict (in place, returned)."""
    for text in overrides:
        path, value = parse_override(text)
        node: Any = data
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"override {text!r}: {'.'.join(path[:i])} is a list of {len(node)}; {part!r} is no index in it")
                if last:
                    node[int(part)] = value
                else:
                    if not isinstance(node[int(part)], (dict, list)):
                        node[int(part)] = {}
                    node = node[int(part)]
            elif last:
                node[part] = value
            else:
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = {}
                node = node[part]
    return data


_VAR = re.compile(r"\$\{(pkg|env|config_dir):?([A-Za-z0-9_.]*)\}")


def expand_vars(value: Any, config_dir: Path) -> Any:
    """Expand ``${pkg:NAME}`` (an installed package's directory, e.g. the sample
    data in ``${pkg:lmt}/data/demo``), ``${env:VAR}`` and ``${config_dir}`` in
    every string of a loaded YAML tree."""
    if isinstance(value, dict):
        return {k: expand_vars(v, config_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_vars(v, config_dir) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def sub(m: "re.Match[str]") -> str:
        kind, arg = m.group(1), m.group(2)
        if kind == "config_dir":
            return str(config_dir)
        if kind == "env":
            if arg not in os.environ:
                raise ConfigError(f"${{env:{arg}}}: environment variable {arg} is not set")
            return os.environ[arg]
        spec = importlib.util.find_spec(arg)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"${{pkg:{arg}}}: no installed package named {arg!r}")
        return str(Path(list(spec.submodule_search_locations)[0]))

    return _VAR.sub(sub, value)


def read_yaml(path: "str | Path") -> dict:
    """Read a YAML mapping; errors name the file (and line for syntax errors).

    Strings may use ``${pkg:NAME}``, ``${env:VAR}`` and ``${config_dir}``.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: not valid YAML: {err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{p}: not UTF-8 text: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of keys, got {type(data).__name__}")
    return expand_vars(data, p.resolve().parent)


def _model_at(model: Any, loc: "tuple | list") -> Any:
    """The pydantic model class that holds the last key of ``loc`` (or None)."""
    import typing

    current = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None or not hasattr(current, "model_fields"):
            if isinstance(part, int):
                continue
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            # a dict key (per_language.kir_Cyrl): stay on the value type
            continue
        ann = field.annotation
        candidates = [ann]
        seen = set()
        nxt = None
        while candidates:
            t = candidates.pop()
            if id(t) in seen:
                continue
            seen.add(id(t))
            if isinstance(t, type) and issubclass(t, BaseModel):
                nxt = t
                break
            candidates.extend(typing.get_args(t))
        current = nxt
    return current if current is not None and hasattr(current, "model_fields") else None


def _unknown_key_hint(model: Any, loc: "tuple | list") -> str:
    import difflib

    holder = _model_at(model, loc) if model is not None else None
    if holder is None:
        return "unknown key (check the spelling)"
    valid = sorted(holder.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key{hint} (valid here: {', '.join(valid)})"


def format_validation_error(err: ValidationError, source: str, model: Any = None) -> str:
    """Render pydantic errors as ``file: key.sub: message`` lines."""
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<top>"
        if e["type"] == "extra_forbidden":
            msg = _unknown_key_hint(model, e["loc"])
        else:
            msg = e["msg"]
            if "input" in e and e["type"] not in ("missing",):
                msg += f" (got {e['input']!r})"
        lines.append(f"{source}: {key}: {msg}")
    return "invalid config:\n  " + "\n  ".join(lines)


def validate_config(model: Type[T], data: dict, source: str = "<config>") -> T:
    """Validate a dict against a model, raising :class:`ConfigError`."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source, model)) from None


def load_config(model: Type[T], path: "str | Path", overrides: Iterable[str] = ()) -> T:
    """Load YAML ``path`` into ``model`` after applying ``overrides``."""
    data = apply_overrides(read_yaml(path), overrides)
    cfg = validate_config(model, data, str(path))
    if hasattr(cfg, "_source"):
        object.__setattr__(cfg, "_source", str(path))
    return cfg


def config_hash(cfg: "BaseModel | dict", exclude: Iterable[str] = ()) -> str:
    """Stable short hash of a config (JSON with sorted keys), for manifests/caches."""
    data = cfg.model_dump(mode="json") if isinstance(cfg, BaseModel) else dict(cfg)
    for key in exclude:
        data.pop(key, None)
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
