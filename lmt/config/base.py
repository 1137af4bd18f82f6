"""Typed YAML config: strict models, ``key.sub=value`` overrides, clear errors.

Every config section is a :class:`StrictModel` (pydantic, unknown keys
forbidden). :func:`load_config` reads a YAML file, applies command-line
overrides, validates, and turns any problem into a :class:`ConfigError` that
names the file and the dotted key.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Optional, Type, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from lmt.errors import ConfigError

T = TypeVar("T", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for config sections: unknown keys are errors, assignments validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


#: Any ``${...}``; the known forms are checked in :func:`_expand_one`.
_VAR = re.compile(r"\$\{([^{}]*)\}")
VARIABLES = ("${pkg:NAME}", "${env:VAR}", "${config_dir}")


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into (``["a", "b", "c"]``, parsed YAML value)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.sub=value")
    key, raw = text.split("=", 1)
    key = key.strip().lstrip("-")
    if not key:
        raise ConfigError(f"override {text!r} has an empty key")
    # ${...} would end a YAML flow mapping early (`[{path: ${env:D}}]`): parse
    # with placeholders, then put the variables back for expand_vars.
    found = _VAR.findall(raw)
    hidden = _VAR.sub(lambda m: f"__lmt_var{found.index(m.group(1))}__", raw)
    try:
        value = yaml.safe_load(hidden) if raw.strip() else ""
    except yaml.YAMLError:
        return key.split("."), raw
    return key.split("."), _unhide(value, found)


def _unhide(value: Any, found: list[str]) -> Any:
    if isinstance(value, dict):
        return {_unhide(k, found): _unhide(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_unhide(v, found) for v in value]
    if isinstance(value, str):
        return re.sub(r"__lmt_var(\d+)__", lambda m: "${" + found[int(m.group(1))] + "}", value)
    return value


def _default_mapping(model: Any, key: str) -> Optional[dict]:
    """The default of field ``key`` of ``model`` when it is a non-empty mapping (else None).

    An override below such a field (``prep.filters.defaults.lid.model_path=...``
    on a config that leaves ``defaults`` out) edits the default instead of
    replacing it with a one-entry mapping.
    """
    field = getattr(model, "model_fields", {}).get(key)
    if field is None:
        return None
    default = field.get_default(call_default_factory=True)
    return copy.deepcopy(default) if isinstance(default, dict) and default else None


def apply_overrides(data: dict, overrides: Iterable[str], config_dir: "Path | None" = None, model: Any = None) -> dict:
    """Apply ``key.sub=value`` overrides to a nested dict (in place, returned).

    Values may use the variables of YAML values (:func:`expand_vars`);
    ``${config_dir}`` is ``config_dir`` (default: the working directory).
    With ``model`` (the pydantic class the dict is for), a key the dict leaves
    out whose default is a mapping starts from that default.
    """
    for text in overrides:
        path, value = parse_override(text)
        value = expand_vars(value, config_dir or Path.cwd(), where=f"override {text!r}")
        node: Any = data
        for i, part in enumerate(path):
            if model is not None and i < len(path) - 1 and isinstance(node, dict) and part not in node:
                seeded = _default_mapping(_model_at(model, path[: i + 1]), part)
                if seeded is not None:
                    node[part] = seeded
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


def expand_vars(value: Any, config_dir: Path, where: str = "", key: str = "") -> Any:
    """Expand ``${pkg:NAME}`` (an installed package's directory, e.g. the sample
    data in ``${pkg:lmt}/data/demo``), ``${env:VAR}`` and ``${config_dir}`` (the
    config file's directory) in every string of a loaded YAML tree.

    Raises:
        ConfigError: an unset variable, a missing package or any other ``${...}``
            (a typo such as ``${config_dri}``), named with ``where`` (the file
            or override) and the dotted key.
    """
    if isinstance(value, dict):
        return {k: expand_vars(v, config_dir, where, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_vars(v, config_dir, where, f"{key}.{i}" if key else str(i)) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    try:
        return _VAR.sub(lambda m: _expand_one(m.group(1), config_dir), value)
    except ConfigError as err:
        raise ConfigError(": ".join(part for part in (where, key, str(err)) if part)) from None


def _expand_one(var: str, config_dir: Path) -> str:
    import difflib

    kind, _, arg = var.partition(":")
    if var == "config_dir":
        return str(config_dir)
    if kind == "env" and arg:
        if arg not in os.environ:
            raise ConfigError(f"${{env:{arg}}}: environment variable {arg} is not set")
        return os.environ[arg]
    if kind == "pkg" and arg:
        spec = importlib.util.find_spec(arg)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"${{pkg:{arg}}}: no installed package named {arg!r}")
        return str(Path(list(spec.submodule_search_locations)[0]))
    close = difflib.get_close_matches(kind, ["config_dir", "env", "pkg"], n=1, cutoff=0.6)
    hint = {"config_dir": "${config_dir}", "env": "${env:VAR}", "pkg": "${pkg:NAME}"}[close[0]] if close else ""
    hint = f"; did you mean {hint}?" if hint else ""
    raise ConfigError(f"unknown variable ${{{var}}}{hint} (valid: {', '.join(VARIABLES)})")


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
    return expand_vars(data, p.resolve().parent, str(p))


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
    data = apply_overrides(read_yaml(path), overrides, Path(path).resolve().parent, model)
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
