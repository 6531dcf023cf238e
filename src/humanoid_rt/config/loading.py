"""Reading a robot config: bundled names, YAML files (strictly), dicts; load_config()."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .fields import Validator
from .schema import parse_robot
from .types import ConfigError, ConfigIssue, RobotConfig

# The bundled robots live beside this package: humanoid_rt/robots/<name>/robot.yaml.
_BUNDLED_DIR = Path(__file__).resolve().parent.parent / "robots"
_BUNDLED_FILE = "robot.yaml"
FILE_FIELD = "<file>"


class _StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and reads `1e-5` as a float.

    PyYAML follows YAML 1.1, where `1e-5` (no dot) is a string and a repeated
    key silently overwrites the first one; both would otherwise surface as a
    confusing type error or a silently ignored value.
    """

    def construct_mapping(self, node, deep=False):
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = self.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)



def bundled_robots() -> tuple[str, ...]:
    """Names of the robot configs shipped with humanoid_rt."""
    return tuple(sorted(path.parent.name for path in _BUNDLED_DIR.glob(f"*/{_BUNDLED_FILE}")))


def _resolve_source(path_or_name: str | Path) -> Path:
    text = str(path_or_name)
    if isinstance(path_or_name, str) and text in bundled_robots():
        return _BUNDLED_DIR / text / _BUNDLED_FILE
    path = Path(path_or_name).expanduser()
    if not path.is_file():
        raise ConfigError([
            ConfigIssue(
                text,
                FILE_FIELD,
                "no such file",
                "a path to a robot YAML file or a bundled robot name: " + ", ".join(bundled_robots()),
                text,
            )
        ])
    return path.resolve()


def _read_yaml(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_StrictYamlLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        lines = text.splitlines()
        line_text = lines[mark.line] if mark and mark.line < len(lines) else ""
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError([
            ConfigIssue(str(path), FILE_FIELD, f"YAML error at {where}: {error.problem}", "valid YAML", line_text)
        ]) from None
    except yaml.YAMLError as error:
        raise ConfigError([ConfigIssue(str(path), FILE_FIELD, f"YAML error: {error}", "valid YAML", None)]) from None



def load_config(path_or_name: str | Path | Mapping[str, Any]) -> RobotConfig:
    """Load and validate a robot config.

    `path_or_name` is a path to a YAML file, the name of a bundled robot (see
    `bundled_robots()`), or an already parsed mapping; relative paths inside a
    mapping resolve against the current directory.  Raises ConfigError listing
    every problem found.
    """
    if isinstance(path_or_name, Mapping):
        source_path, raw, base_dir, source = None, dict(path_or_name), Path.cwd(), "<dict>"
    else:
        source_path = _resolve_source(path_or_name)
        raw = _read_yaml(source_path)
        base_dir, source = source_path.parent, str(source_path)
    check = Validator(source)
    config = parse_robot(check, raw, base_dir, source_path)
    if check.issues:
        raise ConfigError(check.issues)
    return config


