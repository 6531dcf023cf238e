"""The validator's building blocks, shared by the core sections and the bus plug-ins' sections.

A parser takes the raw YAML value and returns the clean one or raises Invalid(problem, allowed);
its `allowed` attribute is the text of the "missing required key" message. A key table maps each
YAML key to (parser, default), with REQUIRED for a key that must be present. Validator walks a
document with such tables and collects every problem (field path, problem, allowed values, value)
instead of stopping at the first: each table becomes a strict pydantic model (built once) whose
fields are the parsers, so pydantic collects the missing keys and rejected values with their
locations, and Validator turns each into a ConfigIssue naming the field and the allowed values.
Unknown keys are reported first, in the document's order (any YAML key, not only strings).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import pydantic
import pydantic_core

from ..errors import HumanoidRtError
from .types import ConfigIssue

# --- value parsers: each returns the clean value or raises Invalid ---------


class Invalid(HumanoidRtError):
    """A value a field parser refuses: the problem and the allowed values (collected into a ConfigError)."""

    def __init__(self, problem: str, allowed: str):
        super().__init__(problem)
        self.problem = problem
        self.allowed = allowed


Parser = Callable[[Any], Any]


def allowing(allowed: str) -> Callable[[Parser], Parser]:
    """Attach the `allowed` text to a parser, for the "missing required key" message."""

    def attach(parse: Parser) -> Parser:
        parse.allowed = allowed
        return parse

    return attach


def is_integer(raw: Any) -> bool:
    # bool is an int subclass in Python, but `true` is never a count or an id.
    return isinstance(raw, int) and not isinstance(raw, bool)


def integer(minimum: int | None = None, maximum: int | None = None) -> Parser:
    if minimum is not None and maximum is not None:
        allowed = f"an integer in {minimum}..{maximum}"
    elif minimum is not None:
        allowed = f"an integer >= {minimum}"
    else:
        allowed = "an integer"

    @allowing(allowed)
    def parse(raw: Any) -> int:
        if not is_integer(raw):
            raise Invalid("not an integer", allowed)
        if (minimum is not None and raw < minimum) or (maximum is not None and raw > maximum):
            raise Invalid("out of range", allowed)
        return raw

    return parse


def finite(raw: Any, allowed: str) -> float:
    if not (is_integer(raw) or isinstance(raw, float)):
        raise Invalid("not a number", allowed)
    if not math.isfinite(raw):
        raise Invalid("not finite", allowed)
    return float(raw)


def number(above: float | None = None, at_least: float | None = None) -> Parser:
    if above is not None:
        allowed = f"a finite number > {above:g}"
    elif at_least is not None:
        allowed = f"a finite number >= {at_least:g}"
    else:
        allowed = "a finite number"

    @allowing(allowed)
    def parse(raw: Any) -> float:
        value = finite(raw, allowed)
        if (above is not None and not value > above) or (at_least is not None and not value >= at_least):
            raise Invalid("out of range", allowed)
        return value

    return parse


def one_of(*options: Any) -> Parser:
    allowed = "one of " + ", ".join(str(option) for option in options)

    @allowing(allowed)
    def parse(raw: Any) -> Any:
        # Compare types too: 1.0 == 1 and True == 1 in Python, but neither is a valid choice of 1.
        if not any(type(raw) is type(option) and raw == option for option in options):
            raise Invalid("not an allowed value", allowed)
        return raw

    return parse


@allowing("true or false")
def boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise Invalid("not a boolean", "true or false")
    return raw


@allowing("a non-empty string")
def nonempty_text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("not a non-empty string", "a non-empty string")
    return raw


def optional(parse: Parser, allowed: str) -> Parser:
    @allowing(allowed)
    def parse_optional(raw: Any) -> Any:
        if raw is None:
            return None
        try:
            return parse(raw)
        except Invalid as invalid:
            raise Invalid(invalid.problem, allowed) from None

    return parse_optional


POSITION_RANGE_ALLOWED = "[min, max] with finite numbers and min < max"


@allowing(POSITION_RANGE_ALLOWED)
def position_range(raw: Any) -> tuple[float, float]:
    allowed = POSITION_RANGE_ALLOWED
    if not isinstance(raw, list) or len(raw) != 2:
        raise Invalid("not a list of two numbers", allowed)
    q_min, q_max = (finite(bound, allowed) for bound in raw)
    if not q_min < q_max:
        raise Invalid("min is not below max", allowed)
    return q_min, q_max


REQUIRED = object()  # default of a key that must be present
INVALID = object()  # stands for a value that failed validation and was reported


def fraction(raw: Any) -> float:
    allowed = "a number > 0 and <= 1"
    value = finite(raw, allowed)
    if not 0 < value <= 1:
        raise Invalid("out of range", allowed)
    return value


fraction.allowed = "a number > 0 and <= 1"  # for the "missing key" message


@allowing("[x, y, z] with finite numbers")
def vector3(raw: Any) -> tuple[float, float, float]:
    if not isinstance(raw, (list, tuple)) or len(raw) != 3:
        raise Invalid("not a list of three numbers", "[x, y, z] with finite numbers")
    return tuple(finite(value, "[x, y, z] with finite numbers") for value in raw)


@allowing("[length, width] with finite numbers > 0 (metres)")
def sole(raw: Any) -> tuple[float, float]:
    allowed = "[length, width] with finite numbers > 0 (metres)"
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise Invalid("not a list of two numbers", allowed)
    values = tuple(finite(value, allowed) for value in raw)
    if not all(value > 0 for value in values):
        raise Invalid("not > 0", allowed)
    return values



@dataclass(frozen=True)
class Nested:
    """Marks a key whose value is a mapping or list validated by its own table."""

    allowed: str



def string_list(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, (list, tuple)) or not all(isinstance(x, str) and x for x in raw):
        raise Invalid("not a list of names", "a list of URDF link names")
    return tuple(raw)



class Validator:
    """Walks the raw document, collecting every problem instead of stopping at the first."""

    def __init__(self, source: str):
        self.source = source
        self.issues: list[ConfigIssue] = []

    def report(self, field_path: str, problem: str, allowed: str, got: Any) -> None:
        self.issues.append(ConfigIssue(self.source, field_path, problem, allowed, got))

    def mapping(self, raw: Any, field_path: str, keys: Mapping[str, Any], extra_keys: tuple[str, ...] = ()) -> dict | None:
        """Check that `raw` is a mapping whose keys all come from `keys` or `extra_keys`."""
        known = tuple(keys) + extra_keys
        if not isinstance(raw, dict):
            self.report(field_path, "not a mapping", "a mapping with keys: " + ", ".join(known), raw)
            return None
        for key in raw:
            if key not in known:
                self.report(join(field_path, str(key)), f"unknown key {key!r}", "keys " + ", ".join(known), key)
        return raw

    def values(self, raw: Any, field_path: str, keys: Mapping[str, tuple[Any, Any]], extra_keys: tuple[str, ...] = ()) -> dict:
        """Parse every key of `keys` from mapping `raw`; failed values become INVALID.

        pydantic validates the section (strict: the parsers take no coercion) and collects every missing
        key and rejected value with its location; each becomes a ConfigIssue naming the field path and
        the allowed values.
        """
        checked = self.mapping(raw, field_path, keys, extra_keys)
        if checked is None:
            return dict.fromkeys(keys, INVALID)
        present = {key: checked[key] for key in keys if key in checked}
        failed: set[str] = set()
        try:
            section = _section_model(keys).model_validate(present)
        except pydantic.ValidationError as error:
            for issue in error.errors(include_url=False):
                key = issue["loc"][0]
                failed.add(key)
                parse = keys[key][0]
                if issue["type"] == "missing":
                    self.report(join(field_path, key), "missing required key", parse.allowed, None)
                else:  # a parser's Invalid, carried through pydantic as a custom error
                    context = issue.get("ctx", {})
                    self.report(join(field_path, key), context.get("problem", issue["msg"]),
                                context.get("allowed", getattr(parse, "allowed", "")), present[key])
            return {key: INVALID if key in failed else (self.value(present[key], join(field_path, key), parse)
                                                        if key in present and not isinstance(parse, Nested) else
                                                        present.get(key, default))
                    for key, (parse, default) in keys.items()}
        return {key: getattr(section, _field_name(index)) for index, key in enumerate(keys)}

    def value(self, raw: Any, field_path: str, parse: Parser) -> Any:
        try:
            return parse(raw)
        except Invalid as invalid:
            self.report(field_path, invalid.problem, invalid.allowed, raw)
            return INVALID

    def typed(self, raw: dict, field_path: str, common_keys: Mapping[str, tuple[Parser, Any]],
              param_tables: Mapping[str, Mapping[str, tuple[Parser, Any]]]) -> tuple[dict, Any]:
        """A mapping with a `type` key choosing which further keys (`param_tables[type]`) it may have.

        Returns (common values, type params or INVALID). With a wrong or missing type, the type is reported and
        only keys that no type knows are flagged.
        """
        raw_type = raw.get("type")
        param_keys = param_tables.get(raw_type) if isinstance(raw_type, str) else None
        if param_keys is None:
            every_param = tuple(dict.fromkeys(key for table in param_tables.values() for key in table))
            return self.values(raw, field_path, common_keys, extra_keys=every_param), INVALID
        common = self.values(raw, field_path, common_keys, extra_keys=tuple(param_keys))
        params = self.values({key: raw[key] for key in param_keys if key in raw}, field_path, param_keys)
        return common, params

    def section(self, raw: Any, field_path: str, keys: Mapping[str, tuple[Parser, Any]], config_type: type):
        """A section whose keys are exactly the fields of `config_type`."""
        parsed = self.values(raw, field_path, keys)
        return None if INVALID in parsed.values() else config_type(**parsed)

    def items(self, raw: Any, field_path: str, what: str, maximum: int) -> list:
        allowed = f"a list of 1..{maximum} {what} mappings"
        if not isinstance(raw, list):
            self.report(field_path, "not a list", allowed, raw)
            return []
        if not raw:
            self.report(field_path, f"no {what}s", allowed, raw)
        elif len(raw) > maximum:
            self.report(field_path, f"too many {what}s ({len(raw)})", allowed, len(raw))
        return raw


def _field_name(index: int) -> str:
    # Fields are named by position (the YAML key is the alias): keys need not be Python identifiers.
    return f"key_{index}"


def _pydantic_parser(parse: Parser) -> Callable[[Any], Any]:
    def validate(raw: Any) -> Any:
        try:
            return parse(raw)
        except Invalid as invalid:
            raise pydantic_core.PydanticCustomError(
                "config_value", "{problem}; allowed: {allowed}", {"problem": invalid.problem, "allowed": invalid.allowed},
            ) from None

    return validate


# Signature (keys and the identity of their parsers and defaults) -> (model, the parsers and defaults, held so
# their ids stay unique while the model is cached). Tables are module constants or built from cached parts.
_SECTION_MODELS: dict[tuple, tuple[type[pydantic.BaseModel], tuple]] = {}


def _section_model(keys: Mapping[str, tuple[Any, Any]]) -> type[pydantic.BaseModel]:
    """The pydantic model of one key table (built once per table): strict, every key by its YAML name."""
    signature = tuple((key, id(parse), id(default)) for key, (parse, default) in keys.items())
    cached = _SECTION_MODELS.get(signature)
    if cached is not None:
        return cached[0]
    fields = {}
    for index, (key, (parse, default)) in enumerate(keys.items()):
        validator = (lambda raw: raw) if isinstance(parse, Nested) else _pydantic_parser(parse)
        fields[_field_name(index)] = (
            Annotated[Any, pydantic.PlainValidator(validator)],
            pydantic.Field(alias=key) if default is REQUIRED else pydantic.Field(default=default, alias=key),
        )
    model = pydantic.create_model("ConfigSection", __config__=pydantic.ConfigDict(strict=True, extra="ignore"),
                                  **fields)
    _SECTION_MODELS[signature] = (model, tuple(keys.values()))
    return model


def join(field_path: str, key: str) -> str:
    return f"{field_path}.{key}" if field_path else key

