"""Every exception class humanoid_rt defines derives from one HumanoidRtError, and keeps its standard base."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import humanoid_rt
from humanoid_rt import HumanoidRtError


def _package_exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a humanoid_rt module, found by importing the whole package."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(humanoid_rt.__path__, "humanoid_rt."):
        module = importlib.import_module(module_info.name)
        for obj in vars(module).values():
            if (inspect.isclass(obj) and issubclass(obj, BaseException)
                    and obj.__module__.startswith("humanoid_rt")):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


EXCEPTIONS = _package_exception_classes()
# A private signal inside the config loader, caught there and turned into ConfigError; never escapes.
PRIVATE = {"humanoid_rt.config._Invalid"}


def test_the_package_defines_the_known_exception_classes():
    # Guards the walk itself: if importing stopped finding classes, the test below would pass vacuously.
    names = {name.rsplit(".", 1)[1] for name in EXCEPTIONS}
    assert {"ConfigError", "SafetyRefused", "FormatError", "ModbusTimeout", "SkillError", "WireError",
            "SessionError", "ExportError", "NeedsRoot", "HumanoidRtError"} <= names
    assert len(EXCEPTIONS) >= 22


@pytest.mark.parametrize("name", sorted(set(EXCEPTIONS) - PRIVATE))
def test_every_public_exception_derives_from_humanoid_rt_error(name):
    assert issubclass(EXCEPTIONS[name], HumanoidRtError), name


# The standard base each class had before HumanoidRtError existed: `except ValueError` keeps catching them.
STANDARD_BASES = {
    "ConfigError": ValueError, "CatalogError": ValueError, "MetricsError": ValueError, "TargetsError": ValueError,
    "SkillError": ValueError, "SessionError": ValueError, "ExportError": ValueError, "WireError": ValueError,
    "BadPolicyOutput": ValueError, "FormatError": ValueError, "SafetyRefused": RuntimeError,
    "Cia402ConfigError": RuntimeError, "RequestRefused": RuntimeError, "BusUnavailable": RuntimeError,
    "NeedsRoot": RuntimeError,
}


@pytest.mark.parametrize("short_name, base", sorted(STANDARD_BASES.items()))
def test_each_keeps_its_standard_base(short_name, base):
    (cls,) = [c for n, c in EXCEPTIONS.items() if n.rsplit(".", 1)[1] == short_name]
    assert issubclass(cls, base)


def test_a_bad_config_is_caught_by_the_common_base_and_by_value_error():
    from humanoid_rt import load_config

    with pytest.raises(HumanoidRtError, match="name"):
        load_config({"name": 5})
    with pytest.raises(ValueError):
        load_config({"name": 5})
