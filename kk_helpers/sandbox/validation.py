"""Object validation with the messages kube-apiserver's validators produce.

:func:`validate` returns the field errors ``pkg/apis/*/validation`` would
report for an object (already defaulted, see :mod:`.defaults`) as
:class:`errors.Cause` values, ready for :func:`errors.invalid`::

    spec.replicas: Invalid value: -1: must be greater than or equal to 0
    spec.template.metadata.labels: Invalid value: {"app":"x"}: `selector` does not match template `labels`

Bad values are rendered as a 1.34+ server renders them (``field.Error.ErrorBody``):
strings Go-quoted, integers and booleans bare, everything else as compact JSON.

What fails *before* validation, while decoding (wrong JSON types, malformed
quantities, bad base64: 400 BadRequest), is checked against the client's
model metadata by :func:`kk_helpers.sandbox.openapi.wrong_type_fields`.

Also here: :class:`Quantity`, the ``resource.Quantity`` parser and canonical
formatter shared with :mod:`.defaults`, and :func:`parse_cron`, a port of the
``robfig/cron`` parser the CronJob validation uses (with its error texts).
"""

from __future__ import annotations

import json
import math
import re
import zoneinfo
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from collections.abc import Callable, Iterable, Mapping

from . import errors
from .resources import ResourceType
from .selectors import (
    go_quote, is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_label_key, is_label_value,
    regex_error, selector_from_object,
)

__all__ = [
    "FieldError", "validate", "validate_errors", "Quantity", "QuantityError",
    "parse_cron", "CronError", "render_value", "labels_json", "selector_json",
]

# =============================================================================================
# Field errors (k8s.io/apimachinery/pkg/util/validation/field)
# =============================================================================================

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
DUPLICATE = "FieldValueDuplicate"
NOT_FOUND = "FieldValueNotFound"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
INTERNAL = "InternalError"

_TYPE_TEXT = {
    REQUIRED: "Required value", INVALID: "Invalid value", NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden", DUPLICATE: "Duplicate value", NOT_FOUND: "Not found",
    TOO_LONG: "Too long", TOO_MANY: "Too many", INTERNAL: "Internal error",
}


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()

#: Messages shared by many validators.
IS_NEGATIVE = "must be greater than or equal to 0"
FIELD_IMMUTABLE = "field is immutable"
FILE_MODE = "must be a number between 0 and 0777 (octal), both inclusive"


def go_json(value: Any) -> str:
    """Compact JSON as Go's ``encoding/json`` writes it (HTML characters escaped)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _go_float(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    text = repr(v)
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    if "e" in text:
        mant, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        return f"{mant}e{sign}{abs(int(exp)):02d}"
    return text


def render_value(value: Any) -> str:
    """A bad value as ``field.Error.ErrorBody`` shows it (Kubernetes 1.34+).

    Strings are Go-quoted, integers and booleans bare, ``None`` is ``null``;
    maps, lists and structs are JSON. Callers pass maps with sorted keys and
    structs as dicts in field order, as Go marshals them.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    return go_json(value)


@dataclass
class FieldError:
    """One ``field.Error``: a type, a path, a bad value and a detail."""

    type: str
    field: str
    value: Any = OMIT
    detail: str = ""

    def body(self) -> str:
        """``ErrorBody()``: the message without the field path."""
        text = _TYPE_TEXT[self.type]
        if self.type not in (REQUIRED, FORBIDDEN, TOO_LONG, INTERNAL) and self.value is not OMIT:
            text = f"{text}: {render_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def cause(self) -> errors.Cause:
        return errors.Cause(field=self.field, message=self.body(), reason=self.type)


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, path, OMIT, detail)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(INVALID, path, value, detail)


def not_supported(path: str, value: Any, valid: Iterable[str]) -> FieldError:
    valid = list(valid)
    detail = "supported values: " + ", ".join(go_quote(v) for v in valid) if valid else ""
    return FieldError(NOT_SUPPORTED, path, value, detail)


def _choice_errors(value: Any, path: str, valid: Iterable[str]) -> list[FieldError]:
    """A required enum field (a protocol, a restart policy...): required, then one of ``valid``."""
    if not value:
        return [required(path)]
    if value not in valid:
        return [not_supported(path, value, valid)]
    return []


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, path, OMIT, detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(DUPLICATE, path, value, "")


def not_found(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError(NOT_FOUND, path, value, detail)


def too_long(path: str, max_length: int) -> FieldError:
    unit = "byte" if max_length == 1 else "bytes"
    return FieldError(TOO_LONG, path, OMIT, f"may not be more than {max_length} {unit}")


# ---------------------------------------------------------------------------------------------
# Small helpers over untyped JSON.
# ---------------------------------------------------------------------------------------------

def _d(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _l(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _s(x: Any) -> str:
    return x if isinstance(x, str) else ("" if x is None else str(x))


def _i(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def labels_json(labels: Mapping[str, Any] | None) -> Any:
    """A ``map[string]string`` bad value: sorted keys, or ``None`` (rendered ``null``)."""
    if labels is None:
        return None
    return {k: labels[k] for k in sorted(labels)}


def selector_json(sel: Mapping[str, Any] | None) -> Any:
    """A ``*metav1.LabelSelector`` bad value, fields in Go order, empty ones omitted."""
    if sel is None:
        return None
    out: dict[str, Any] = {}
    if sel.get("matchLabels"):
        out["matchLabels"] = labels_json(sel["matchLabels"])
    if sel.get("matchExpressions"):
        exprs = []
        for e in _l(sel["matchExpressions"]):
            e = _d(e)
            item: dict[str, Any] = {"key": e.get("key", ""), "operator": e.get("operator", "")}
            if e.get("values"):
                item["values"] = e["values"]
            exprs.append(item)
        out["matchExpressions"] = exprs
    return out


# =============================================================================================
# Quantities (k8s.io/apimachinery/pkg/api/resource)
# =============================================================================================

QUANTITY_FORMAT_ERROR = ("quantities must match the regular expression "
                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix"
QUANTITY_NUMERIC_ERROR = "unable to parse numeric part of quantity"

DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT = "DecimalSI", "BinarySI", "DecimalExponent"
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BINARY_BY_POWER = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_MAX_QUANTITY = Fraction((1 << 63) - 1)
_NANO = Fraction(1, 10**9)


class QuantityError(ValueError):
    """A quantity string the API server would not decode; ``str()`` is the real message."""


def _round_away(value: Fraction, unit: Fraction) -> Fraction:
    """Round ``value`` to a multiple of ``unit``, away from zero (``inf.RoundUp``)."""
    steps = value / unit
    if steps.denominator == 1:
        return value
    mag = math.ceil(abs(steps))
    return unit * (mag if value > 0 else -mag)


def _split_quantity(s: str) -> tuple[bool, str, str, str]:
    """``parseQuantityString``: (positive, numerator digits, denominator digits, suffix)."""
    positive = True
    pos, end = 0, len(s)
    if pos < end and s[0] in "+-":
        positive = s[0] == "+"
        pos += 1
    while pos < end and s[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and s[pos].isdigit() and s[pos].isascii():
        pos += 1
    num = s[start:pos] or "0"
    denom = ""
    if pos < end and s[pos] == ".":
        pos += 1
        start = pos
        while pos < end and s[pos].isdigit() and s[pos].isascii():
            pos += 1
        denom = s[start:pos]
    suffix_start = pos
    while pos < end and s[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and s[pos] in "+-":
        pos += 1
    while pos < end and s[pos].isdigit() and s[pos].isascii():
        pos += 1
    if pos < end:
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    return positive, num, denom, s[suffix_start:]


@dataclass(frozen=True)
class Quantity:
    """A ``resource.Quantity``: an exact value and the format its suffix chose."""

    value: Fraction
    format: str = DECIMAL_SI

    @classmethod
    def parse(cls, text: str) -> Quantity:
        """``resource.ParseQuantity``.

        Raises:
            QuantityError: with the real message (e.g. the "must match the regular expression" one).
        """
        if not text:
            raise QuantityError(QUANTITY_FORMAT_ERROR)
        if text == "0":
            return cls(Fraction(0))
        positive, num, denom, suffix = _split_quantity(text)
        if suffix in _DECIMAL_SUFFIXES:
            base, exponent, fmt = 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
        elif suffix in _BINARY_SUFFIXES:
            base, exponent, fmt = 2, _BINARY_SUFFIXES[suffix], BINARY_SI
        elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[+-]?[0-9]+", suffix[1:]):
            base, exponent, fmt = 10, int(suffix[1:]), DECIMAL_EXPONENT
            if abs(exponent) > 1000:  # beyond any representable quantity: cap or round below
                value = _MAX_QUANTITY if exponent > 0 else _NANO
                return cls(value if positive else -value, fmt)
        else:
            raise QuantityError(QUANTITY_SUFFIX_ERROR)
        try:
            mag = Fraction(f"{num}.{denom}" if denom else num)
        except ValueError as err:  # pragma: no cover - the splitter only yields digits
            raise QuantityError(QUANTITY_NUMERIC_ERROR) from err
        value = mag * Fraction(base) ** exponent
        if not positive:
            value = -value
        value = _round_away(value, _NANO)
        if value > _MAX_QUANTITY:
            value = _MAX_QUANTITY
        elif value < -_MAX_QUANTITY:
            value = -_MAX_QUANTITY
        return cls(value, fmt)

    @classmethod
    def from_json(cls, raw: Any) -> Quantity | None:
        """Decode a quantity as ``Quantity.UnmarshalJSON`` does; ``None`` for JSON null.

        Raises:
            QuantityError: for anything that is not a valid quantity string or number.
        """
        if raw is None:
            return None
        if isinstance(raw, str):
            return cls.parse(raw.strip())
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise QuantityError(QUANTITY_FORMAT_ERROR)
        return cls.parse(json.dumps(raw))

    def round_up_milli(self) -> Quantity:
        """``RoundUp(-3)``, as resource lists are defaulted (0.1m -> 1m)."""
        return Quantity(_round_away(self.value, Fraction(1, 1000)), self.format)

    def __str__(self) -> str:
        """The canonical form the API server serializes (``500m``, ``1Gi``, ``1536Mi``)."""
        v = self.value
        if v == 0:
            return "0"
        fmt = self.format
        sign = "-" if v < 0 else ""
        mag = abs(v)
        if fmt == BINARY_SI and (mag < 1024 or mag.denominator != 1):
            fmt = DECIMAL_SI
        if fmt == BINARY_SI:
            n, power = mag.numerator, 0
            while n % 1024 == 0 and power < 6:
                n //= 1024
                power += 1
            return f"{sign}{n}{_BINARY_BY_POWER[power]}"
        # Largest exponent that is a multiple of 3 and leaves an integer mantissa.
        exp = 0
        while (mag / Fraction(10) ** exp).denominator != 1:
            exp -= 3
        if exp == 0:
            n = mag.numerator
            while n % 1000 == 0 and n and exp < 10**6:
                n //= 1000
                exp += 3
            mantissa = n
        else:
            mantissa = int(mag / Fraction(10) ** exp)
        if fmt == DECIMAL_EXPONENT:
            return f"{sign}{mantissa}" + (f"e{exp}" if exp else "")
        while exp > 18:
            mantissa *= 1000
            exp -= 3
        return f"{sign}{mantissa}{_DECIMAL_BY_EXP[exp]}"


def canonical_quantity(raw: Any) -> Any:
    """The canonical string of a JSON quantity; values that do not parse are returned unchanged."""
    try:
        q = Quantity.from_json(raw)
    except QuantityError:
        return raw
    return raw if q is None else str(q)


# =============================================================================================
# Cron schedules (github.com/robfig/cron/v3 ParseStandard) and time zones
# =============================================================================================

class CronError(ValueError):
    """A schedule ``cron.ParseStandard`` rejects; ``str()`` is robfig/cron's message."""


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: Mapping[str, int] | None = None


_MONTH_NAMES = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_DOW_NAMES = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_CRON_FIELDS = (_Bounds(0, 59), _Bounds(0, 23), _Bounds(1, 31), _Bounds(1, 12, _MONTH_NAMES),
                _Bounds(0, 6, _DOW_NAMES))
_DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_GO_INT_RE = re.compile(r"[+-]?[0-9]+")


def _cron_int(expr: str) -> int:
    """robfig's ``mustParseInt`` with strconv.Atoi's error text."""
    if not _GO_INT_RE.fullmatch(expr):
        raise CronError(f'failed to parse int from {expr}: strconv.Atoi: parsing {go_quote(expr)}: invalid syntax')
    n = int(expr)
    if n < 0:
        raise CronError(f"negative number ({n}) not allowed: {expr}")
    return n


def _cron_range(expr: str, b: _Bounds) -> set[int]:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    single = len(low_high) == 1
    if low_high[0] in ("*", "?"):
        start, end = b.low, b.high
    else:
        def value(text: str) -> int:
            if b.names is not None and text.lower() in b.names:
                return b.names[text.lower()]
            return _cron_int(text)
        start = value(low_high[0])
        if len(low_high) == 1:
            end = start
        elif len(low_high) == 2:
            end = value(low_high[1])
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _cron_int(range_and_step[1])
        if single:
            end = b.high
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < b.low:
        raise CronError(f"beginning of range ({start}) below minimum ({b.low}): {expr}")
    if end > b.high:
        raise CronError(f"end of range ({end}) above maximum ({b.high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step))


_DURATION_UNITS = frozenset({"ns", "us", "\u00b5s", "\u03bcs", "ms", "s", "m", "h"})


def _go_duration_error(text: str) -> str | None:
    """``time.ParseDuration``'s error for ``text``, or None when it parses."""
    quoted = go_quote(text)
    s = text
    if s[:1] in "+-":
        s = s[1:]
    if s == "0":
        return None
    if not s:
        return f"time: invalid duration {quoted}"
    while s:
        m = re.match(r"[0-9]*(\.[0-9]*)?", s)
        number = m.group(0) if m else ""
        if not number or number == ".":
            return f"time: invalid duration {quoted}"
        s = s[len(number):]
        unit = re.match(r"[^0-9.]*", s).group(0)  # type: ignore[union-attr]
        if not unit:
            return f"time: missing unit in duration {quoted}"
        if unit not in _DURATION_UNITS:
            return f"time: unknown unit {go_quote(unit)} in duration {quoted}"
        s = s[len(unit):]
    return None


def _check_location(name: str) -> str | None:
    """``time.LoadLocation``'s error text for ``name``, or None when it loads."""
    if name in ("", "UTC", "Local"):
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name}"
    return None


def parse_cron(schedule: str) -> list[set[int]] | str:
    """Parse a CronJob schedule as ``cron.ParseStandard`` does.

    Returns:
        The minute, hour, day-of-month, month and day-of-week value sets, or the
        descriptor (``@daily``, ``@every 1h``) when one is used.

    Raises:
        CronError: with robfig/cron's message, e.g. ``expected exactly 5 fields, found 1: [bad]``
            or ``end of range (61) above maximum (59): 61``.
    """
    spec = schedule
    if not spec:
        raise CronError("empty spec string")
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        space = spec.find(" ")
        if space < 0:
            raise CronError(f"provided bad location {spec[spec.find('=') + 1:]}: unknown time zone "
                            f"{spec[spec.find('=') + 1:]}")
        loc = spec[spec.find("=") + 1:space]
        err = _check_location(loc)
        if err:
            raise CronError(f"provided bad location {loc}: {err}")
        spec = spec[space:].strip()
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return spec
        if spec.startswith("@every "):
            err = _go_duration_error(spec[len("@every "):])
            if err:
                raise CronError(f"failed to parse duration {spec}: {err}")
            return spec
        raise CronError(f"unrecognized descriptor: {spec}")
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    out: list[set[int]] = []
    for text, bounds in zip(fields, _CRON_FIELDS, strict=False):
        values: set[int] = set()
        for expr in [p for p in text.split(",") if p]:
            values |= _cron_range(expr, bounds)
        out.append(values)
    return out


# =============================================================================================
# Names and object metadata
# =============================================================================================

NameFn = Callable[[str, bool], list[str]]


def _mask_trailing_dash(name: str) -> str:
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool = False) -> list[str]:
    """``NameIsDNSSubdomain``: names of most kinds (pods, deployments, configmaps...)."""
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool = False) -> list[str]:
    """``NameIsDNSLabel``: namespace names."""
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool = False) -> list[str]:
    """``NameIsDNS1035Label``: service names."""
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
_ANNOTATIONS_LIMIT = 256 * 1024


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    """``ValidateLabels``: keys (as label keys) and values, both reported at ``path``."""
    errs: list[FieldError] = []
    labels = _d(labels)
    for k in sorted(labels):
        errs.extend(invalid(path, k, msg) for msg in is_label_key(k))
        v = labels[k]
        errs.extend(invalid(path, v, msg) for msg in is_label_value(_s(v)))
    return errs


def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    """``ValidateAnnotations``: keys (case-insensitive label keys) and the 256 KiB total."""
    errs: list[FieldError] = []
    annotations = _d(annotations)
    for k in sorted(annotations):
        errs.extend(invalid(path, k, msg) for msg in is_label_key(k.lower()))
    total = sum(len(k.encode()) + len(_s(v).encode()) for k, v in annotations.items())
    if total > _ANNOTATIONS_LIMIT:
        errs.append(too_long(path, _ANNOTATIONS_LIMIT))
    return errs


def _validate_meta_common(md: dict[str, Any], namespaced: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    if namespaced:
        ns = _s(md.get("namespace"))
        if not ns:
            errs.append(required("metadata.namespace"))
        else:
            errs.extend(invalid("metadata.namespace", ns, m) for m in name_is_dns_label(ns))
    elif md.get("namespace"):
        errs.append(forbidden("metadata.namespace", "not allowed on this type"))
    gen = _i(md.get("generation"))
    if gen is not None and gen < 0:
        errs.append(invalid("metadata.generation", gen, IS_NEGATIVE))
    errs.extend(validate_labels(md.get("labels"), "metadata.labels"))
    errs.extend(validate_annotations(md.get("annotations"), "metadata.annotations"))
    controllers: list[str] = []
    for ref in _l(md.get("ownerReferences")):
        ref = _d(ref)
        api_version = _s(ref.get("apiVersion"))
        if not api_version or api_version.endswith("/"):
            errs.append(invalid("metadata.ownerReferences.apiVersion", api_version, "version must not be empty"))
        for key in ("kind", "name", "uid"):
            if not ref.get(key):
                errs.append(invalid(f"metadata.ownerReferences.{key}", _s(ref.get(key)), "must not be empty"))
        if ref.get("controller") is True:
            controllers.append(f"{_s(ref.get('kind'))}/{_s(ref.get('name'))}")
    if len(controllers) > 1:
        errs.append(invalid("metadata.ownerReferences", md.get("ownerReferences"),
                            'Only one reference can have Controller set to true. Found "true" in references for '
                            f"{controllers[0]} and {controllers[1]}"))
    finalizers = [_s(f) for f in _l(md.get("finalizers"))]
    for f in finalizers:
        errs.extend(invalid("metadata.finalizers", f, m) for m in is_label_key(f))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(invalid("metadata.finalizers", finalizers,
                            "finalizer orphan and foregroundDeletion cannot be both set"))
    for i, f in enumerate(finalizers):
        if "/" not in f and f not in _STANDARD_FINALIZERS:
            errs.append(invalid(f"metadata.finalizers[{i}]", f,
                                "name is neither a standard finalizer name nor is it fully qualified"))
    return errs


def validate_object_meta(md: Any, namespaced: bool, name_fn: NameFn) -> list[FieldError]:
    """``ValidateObjectMeta`` on create: name (or generateName), namespace, labels, annotations..."""
    md = _d(md)
    errs: list[FieldError] = []
    generate = _s(md.get("generateName"))
    if generate:
        errs.extend(invalid("metadata.generateName", generate, m) for m in name_fn(generate, True))
    name = _s(md.get("name"))
    if not name:
        errs.append(required("metadata.name", "name or generateName is required"))
    else:
        errs.extend(invalid("metadata.name", name, m) for m in name_fn(name, False))
    return errs + _validate_meta_common(md, namespaced)


def validate_object_meta_update(new: Any, old: Any, namespaced: bool) -> list[FieldError]:
    """``ValidateObjectMetaUpdate``: immutable identity fields, then labels and annotations again."""
    md, omd = _d(new), _d(old)
    errs: list[FieldError] = []
    if omd.get("deletionTimestamp"):
        extra = sorted(set(_l(md.get("finalizers"))) - set(_l(omd.get("finalizers"))))
        if extra:
            errs.append(forbidden("metadata.finalizers",
                                  "no new finalizers can be added if the object is being deleted, found new "
                                  f"finalizers []string{{{', '.join(go_quote(_s(f)) for f in extra)}}}"))
    ngen, ogen = _i(md.get("generation")) or 0, _i(omd.get("generation")) or 0
    if ngen < ogen:
        errs.append(invalid("metadata.generation", ngen, "must not be decremented"))
    for key in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
        if md.get(key) != omd.get(key):
            errs.append(invalid(f"metadata.{key}", md.get(key, "" if key != "deletionGracePeriodSeconds" else None),
                                FIELD_IMMUTABLE))
    common = _validate_meta_common(md, namespaced)
    return errs + [e for e in common if not e.field.startswith("metadata.namespace")]


# =============================================================================================
# Pod specs
# =============================================================================================

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_STANDARD_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_NATIVE_OVERCOMMIT = frozenset({"cpu", "memory", "ephemeral-storage"})
_VOLUME_SOURCES = ("hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
                   "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs",
                   "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte",
                   "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos",
                   "csi", "ephemeral", "image")
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_RE = re.compile(_CONFIG_KEY_FMT)
_PORT_NAME_CHARS = re.compile("[-a-z0-9]+")
_PERCENT_FMT = "[0-9]+%"
_PERCENT_RE = re.compile(_PERCENT_FMT)


def _port_range(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else ["must be between 1 and 65535, inclusive"]


def is_valid_port_name(port: str) -> list[str]:
    """``IsValidPortName``: an IANA_SVC_NAME (at most 15 characters, at least one letter)."""
    errs: list[str] = []
    if len(port) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARS.fullmatch(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_config_map_key(key: str) -> list[str]:
    """``IsConfigMapKey``: keys of ConfigMap/Secret data."""
    errs: list[str] = []
    if len(key.encode()) > 253:
        errs.append("must be no more than 253 characters")
    if not _CONFIG_KEY_RE.fullmatch(key):
        errs.append(regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if key == ".":
        errs.append("must not be '.'")
    elif key == "..":
        errs.append("must not be '..'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _port_num_or_name(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, str):
        return [invalid(path, value, m) for m in is_valid_port_name(value)]
    n = _i(value)
    if n is None:
        return []
    return [invalid(path, n, m) for m in _port_range(n)]


def _quantity(raw: Any) -> Quantity | None:
    try:
        return Quantity.from_json(raw)
    except QuantityError:
        return None


def _is_native_resource(name: str) -> bool:
    """``IsNativeResource``: unprefixed, or prefixed with ``kubernetes.io/``."""
    return "/" not in name or "kubernetes.io/" in name


def _is_extended_resource(name: str) -> bool:
    """``IsExtendedResourceName``: a prefixed, non-native name that is valid as ``requests.<name>``."""
    if _is_native_resource(name) or name.startswith("requests."):
        return False
    return not is_label_key("requests." + name)


def _overcommit_allowed(name: str) -> bool:
    return _is_native_resource(name) and not name.startswith("hugepages-")


def _validate_resources(res: Any, path: str) -> list[FieldError]:
    """``validateResourceRequirements`` for a container: names, quantities, requests <= limits."""
    res = _d(res)
    limits, requests = _d(res.get("limits")), _d(res.get("requests"))
    errs: list[FieldError] = []
    seen_cpu_mem = seen_huge = False

    def name_errors(name: str, p: str) -> list[FieldError]:
        out = [invalid(p, name, m) for m in is_label_key(name)]
        if "/" not in name:
            if name not in _STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
                out.append(invalid(p, name, "must be a standard resource for containers"))
        elif not _is_native_resource(name) and not _is_extended_resource(name):
            out.append(invalid(p, name, "doesn't follow extended resource name standard"))
        return out

    def value_errors(name: str, q: Quantity | None, p: str) -> list[FieldError]:
        out: list[FieldError] = []
        if q is not None and q.value < 0:
            out.append(invalid(p, str(q), IS_NEGATIVE))
        if q is not None and _is_extended_resource(name) and q.value.denominator != 1:
            out.append(invalid(p, str(q), "must be an integer"))
        return out

    for name in sorted(limits):
        p = f"{path}.limits[{name}]"
        errs.extend(name_errors(name, p))
        errs.extend(value_errors(name, _quantity(limits[name]), p))
        seen_huge = seen_huge or name.startswith("hugepages-")
        seen_cpu_mem = seen_cpu_mem or name in ("cpu", "memory")
    for name in sorted(requests):
        p = f"{path}.requests[{name}]"
        errs.extend(name_errors(name, p))
        q = _quantity(requests[name])
        errs.extend(value_errors(name, q, p))
        if name in limits:
            lq = _quantity(limits[name])
            if q is not None and lq is not None:
                if not _overcommit_allowed(name) and q.value != lq.value:
                    errs.append(invalid(f"{path}.requests", str(q), f"must be equal to {name} limit of {lq}"))
                elif q.value > lq.value:
                    errs.append(invalid(f"{path}.requests", str(q),
                                        f"must be less than or equal to {name} limit of {lq}"))
        elif not _overcommit_allowed(name):
            errs.append(required(f"{path}.limits", "Limit must be set for non overcommitable resources"))
        seen_huge = seen_huge or name.startswith("hugepages-")
        seen_cpu_mem = seen_cpu_mem or name in ("cpu", "memory")
    if seen_huge and not seen_cpu_mem:
        errs.append(forbidden(path, "HugePages require cpu or memory"))
    return errs


def _validate_probe(probe: Any, path: str, kind: str) -> list[FieldError]:
    if probe is None:
        return []
    probe = _d(probe)
    errs: list[FieldError] = []
    handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if probe.get(h) is not None]
    for extra in handlers[1:]:
        errs.append(forbidden(f"{path}.{extra}", "may not specify more than 1 handler type"))
    if not handlers:
        errs.append(required(path, "must specify a handler type"))
    elif handlers[0] == "exec":
        if not _l(_d(probe["exec"]).get("command")):
            errs.append(required(f"{path}.exec.command"))
    elif handlers[0] == "httpGet":
        http = _d(probe["httpGet"])
        if not http.get("path"):
            errs.append(required(f"{path}.httpGet.path"))
        errs.extend(_port_num_or_name(http.get("port", 0), f"{path}.httpGet.port"))
        scheme = http.get("scheme", "HTTP")
        if scheme not in ("HTTP", "HTTPS"):
            errs.append(not_supported(f"{path}.httpGet.scheme", scheme, ["HTTP", "HTTPS"]))
    elif handlers[0] == "tcpSocket":
        errs.extend(_port_num_or_name(_d(probe["tcpSocket"]).get("port", 0), f"{path}.tcpSocket.port"))
    elif handlers[0] == "grpc":
        errs.extend(_port_num_or_name(_d(probe["grpc"]).get("port", 0), f"{path}.grpc.port"))
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        n = _i(probe.get(key))
        if n is not None and n < 0:
            errs.append(invalid(f"{path}.{key}", n, IS_NEGATIVE))
    tgp = _i(probe.get("terminationGracePeriodSeconds"))
    if tgp is not None and tgp <= 0:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", tgp, "must be greater than 0"))
    success = _i(probe.get("successThreshold"))
    if kind in ("liveness", "startup") and success is not None and success != 1:
        errs.append(invalid(f"{path}.successThreshold", success, "must be 1"))
    if kind == "readiness" and probe.get("terminationGracePeriodSeconds") is not None:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", probe["terminationGracePeriodSeconds"],
                            "must not be set for readinessProbes"))
    return errs


def _validate_env(env: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ev in enumerate(_l(env)):
        ev = _d(ev)
        p = f"{path}[{i}]"
        name = _s(ev.get("name"))
        if not name:
            errs.append(required(f"{p}.name"))
        elif any(ord(c) > 0x7E or ord(c) < 0x20 or c == "=" for c in name):
            errs.append(invalid(f"{p}.name", name, "a valid environment variable name must consist only of "
                                "printable ASCII characters other than '='"))
        value_from = ev.get("valueFrom")
        if value_from is not None:
            vf = _d(value_from)
            sources = [k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
                       if vf.get(k) is not None]
            vp = f"{p}.valueFrom"
            for kind in sources:
                ref = _d(vf[kind])
                if kind in ("configMapKeyRef", "secretKeyRef"):
                    rname = _s(ref.get("name"))
                    errs.extend(invalid(f"{vp}.{kind}.name", rname, m) for m in name_is_dns_subdomain(rname))
                    key = _s(ref.get("key"))
                    if not key:
                        errs.append(required(f"{vp}.{kind}.key"))
                    else:
                        errs.extend(invalid(f"{vp}.{kind}.key", key, m) for m in is_config_map_key(key))
                elif kind == "fieldRef" and not ref.get("fieldPath"):
                    errs.append(required(f"{vp}.fieldRef.fieldPath"))
            if not sources:
                errs.append(invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                    "`configMapKeyRef` or `secretKeyRef`"))
            elif ev.get("value"):
                errs.append(invalid(vp, "", "may not be specified when `value` is not empty"))
            elif len(sources) > 1:
                errs.append(invalid(vp, "", "may not have more than one field specified at a time"))
    return errs


def _validate_container(c: dict[str, Any], p: str, volumes: set[str], *, is_pod: bool) -> list[FieldError]:
    """``validateContainerCommon`` (plus the pod-only image whitespace check)."""
    errs: list[FieldError] = []
    name = _s(c.get("name"))
    if not name:
        errs.append(required(f"{p}.name"))
    else:
        errs.extend(invalid(f"{p}.name", name, m) for m in is_dns1123_label(name))
    image = _s(c.get("image"))
    if not image:
        errs.append(required(f"{p}.image"))
    tmp = c.get("terminationMessagePolicy")
    errs.extend(_choice_errors(tmp, f"{p}.terminationMessagePolicy", _TERMINATION_MESSAGE_POLICIES))
    port_names: set[str] = set()
    for j, port in enumerate(_l(c.get("ports"))):
        port = _d(port)
        pp = f"{p}.ports[{j}]"
        pname = _s(port.get("name"))
        if pname:
            msgs = is_valid_port_name(pname)
            if msgs:
                errs.extend(invalid(f"{pp}.name", pname, m) for m in msgs)
            elif pname in port_names:
                errs.append(duplicate(f"{pp}.name", pname))
            else:
                port_names.add(pname)
        cport = _i(port.get("containerPort")) or 0
        if cport == 0:
            errs.append(required(f"{pp}.containerPort"))
        else:
            errs.extend(invalid(f"{pp}.containerPort", cport, m) for m in _port_range(cport))
        hport = _i(port.get("hostPort")) or 0
        if hport:
            errs.extend(invalid(f"{pp}.hostPort", hport, m) for m in _port_range(hport))
        errs.extend(_choice_errors(port.get("protocol"), f"{pp}.protocol", _PROTOCOLS))
    errs.extend(_validate_env(c.get("env"), f"{p}.env"))
    for j, ef in enumerate(_l(c.get("envFrom"))):
        ef = _d(ef)
        sources = [k for k in ("configMapRef", "secretRef") if ef.get(k) is not None]
        for kind in sources:
            rname = _s(_d(ef[kind]).get("name"))
            if not rname:
                errs.append(required(f"{p}.envFrom[{j}].{kind}.name"))
            else:
                errs.extend(invalid(f"{p}.envFrom[{j}].{kind}.name", rname, m)
                            for m in name_is_dns_subdomain(rname, True))
        if not sources:
            errs.append(invalid(f"{p}.envFrom", "", "must specify one of: `configMapRef` or `secretRef`"))
        elif len(sources) > 1:
            errs.append(invalid(f"{p}.envFrom", "", "may not have more than one field specified at a time"))
    mount_paths: set[str] = set()
    for j, vm in enumerate(_l(c.get("volumeMounts"))):
        vm = _d(vm)
        mp = f"{p}.volumeMounts[{j}]"
        vname = _s(vm.get("name"))
        if not vname:
            errs.append(required(f"{mp}.name"))
        if vname not in volumes:
            errs.append(not_found(f"{mp}.name", vname))
        path = _s(vm.get("mountPath"))
        if not path:
            errs.append(required(f"{mp}.mountPath"))
        if path in mount_paths:
            errs.append(invalid(f"{mp}.mountPath", path, "must be unique"))
        mount_paths.add(path)
    policy = c.get("imagePullPolicy")
    errs.extend(_choice_errors(policy, f"{p}.imagePullPolicy", _PULL_POLICIES))
    errs.extend(_validate_resources(c.get("resources"), f"{p}.resources"))
    return errs


def _validate_volumes(volumes: Any, path: str) -> tuple[set[str], list[FieldError]]:
    names: set[str] = set()
    errs: list[FieldError] = []
    for i, vol in enumerate(_l(volumes)):
        vol = _d(vol)
        vp = f"{path}[{i}]"
        el: list[FieldError] = []
        sources = [s for s in _VOLUME_SOURCES if vol.get(s) is not None]
        for extra in sources[1:]:
            el.append(forbidden(f"{vp}.{extra}", "may not specify more than 1 volume type"))
        if not sources:
            el.append(required(vp, "must specify a volume type"))
        else:
            src, body = sources[0], _d(vol[sources[0]])
            if src == "configMap":
                if not body.get("name"):
                    el.append(required(f"{vp}.configMap.name"))
            elif src == "secret":
                if not body.get("secretName"):
                    el.append(required(f"{vp}.secret.secretName"))
            elif src == "persistentVolumeClaim":
                if not body.get("claimName"):
                    el.append(required(f"{vp}.persistentVolumeClaim.claimName"))
            elif src == "hostPath":
                if not body.get("path"):
                    el.append(required(f"{vp}.hostPath.path"))
            if src in ("configMap", "secret", "downwardAPI", "projected"):
                mode = _i(body.get("defaultMode"))
                if mode is not None and not 0 <= mode <= 0o777:
                    el.append(invalid(f"{vp}.{src}.defaultMode", mode, FILE_MODE))
                for j, item in enumerate(_l(body.get("items"))):
                    item = _d(item)
                    ip = f"{vp}.{src}.items[{j}]"
                    if src in ("configMap", "secret") and not item.get("key"):
                        el.append(required(f"{ip}.key"))
                    if not item.get("path"):
                        el.append(required(f"{ip}.path"))
        name = _s(vol.get("name"))
        if not name:
            el.append(required(f"{vp}.name"))
        else:
            el.extend(invalid(f"{vp}.name", name, m) for m in is_dns1123_label(name))
        if name in names:
            el.append(duplicate(f"{vp}.name", name))
        if not el:
            names.add(name)
        errs.extend(el)
    return names, errs


def _validate_tolerations(tolerations: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, t in enumerate(_l(tolerations)):
        t = _d(t)
        p = f"{path}[{i}]"
        key, op, value, effect = _s(t.get("key")), _s(t.get("operator")), _s(t.get("value")), _s(t.get("effect"))
        if key:
            errs.extend(invalid(f"{p}.key", key, m) for m in is_label_key(key))
        if not key and op != "Exists":
            errs.append(invalid(f"{p}.operator", op,
                                'operator must be Exists when `key` is empty, '
                                'which means "match all values and all keys"'))
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(invalid(f"{p}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("Equal", ""):
            msgs = is_label_value(value)
            if msgs:
                errs.append(invalid(f"{p}.operator", value, ";".join(msgs)))
        elif op == "Exists":
            if value:
                errs.append(invalid(f"{p}.operator", value, "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(not_supported(f"{p}.operator", op, ["Equal", "Exists"]))
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append(not_supported(f"{p}.effect", effect, ["NoSchedule", "PreferNoSchedule", "NoExecute"]))
    return errs


def validate_pod_spec(spec: Any, path: str, *, is_pod: bool) -> list[FieldError]:
    """``ValidatePodSpec``: volumes, containers, policies, names, tolerations."""
    spec = _d(spec)
    errs: list[FieldError] = []
    if spec.get("terminationGracePeriodSeconds") is None:
        errs.append(required(f"{path}.terminationGracePeriodSeconds"))
    volumes, verrs = _validate_volumes(spec.get("volumes"), f"{path}.volumes")
    errs.extend(verrs)
    containers = _l(spec.get("containers"))
    if not containers:
        errs.append(required(f"{path}.containers"))
    names: set[str] = set()
    for i, c in enumerate(containers):
        c = _d(c)
        p = f"{path}.containers[{i}]"
        errs.extend(_validate_container(c, p, volumes, is_pod=is_pod))
        name = _s(c.get("name"))
        if name in names:
            errs.append(duplicate(f"{p}.name", name))
        else:
            names.add(name)
        errs.extend(_validate_probe(c.get("livenessProbe"), f"{p}.livenessProbe", "liveness"))
        errs.extend(_validate_probe(c.get("readinessProbe"), f"{p}.readinessProbe", "readiness"))
        errs.extend(_validate_probe(c.get("startupProbe"), f"{p}.startupProbe", "startup"))
        if c.get("restartPolicy") is not None:
            errs.append(forbidden(f"{p}.restartPolicy", "may not be set for non-init containers"))
    host_ports: set[str] = set()
    for i, c in enumerate(containers):
        for j, port in enumerate(_l(_d(c).get("ports"))):
            port = _d(port)
            hp = _i(port.get("hostPort")) or 0
            if hp:
                key = f"{_s(port.get('protocol'))}/{_s(port.get('hostIP'))}/{hp}"
                if key in host_ports:
                    errs.append(duplicate(f"{path}.containers[{i}].ports[{j}].hostPort", key))
                host_ports.add(key)
    for i, c in enumerate(_l(spec.get("initContainers"))):
        c = _d(c)
        p = f"{path}.initContainers[{i}]"
        errs.extend(_validate_container(c, p, volumes, is_pod=is_pod))
        rp = c.get("restartPolicy")
        if rp is not None and rp != "Always":
            errs.append(not_supported(f"{p}.restartPolicy", rp, ["Always"]))
        name = _s(c.get("name"))
        if name in names:
            errs.append(duplicate(f"{p}.name", name))
        elif name:
            names.add(name)
        if rp != "Always":
            for probe in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if c.get(probe) is not None:
                    errs.append(forbidden(f"{p}.{probe}", "may not be set for init containers without "
                                                          "restartPolicy=Always"))
    restart = spec.get("restartPolicy")
    errs.extend(_choice_errors(restart, f"{path}.restartPolicy", _RESTART_POLICIES))
    dns = spec.get("dnsPolicy")
    errs.extend(_choice_errors(dns, f"{path}.dnsPolicy", _DNS_POLICIES))
    errs.extend(validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector"))
    if dns == "None" and spec.get("dnsConfig") is None:
        errs.append(required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
    sa = _s(spec.get("serviceAccountName"))
    if sa:
        errs.extend(invalid(f"{path}.serviceAccountName", sa, m) for m in name_is_dns_subdomain(sa))
    node = _s(spec.get("nodeName"))
    if node:
        errs.extend(invalid(f"{path}.nodeName", node, m) for m in name_is_dns_subdomain(node))
    ads = _i(spec.get("activeDeadlineSeconds"))
    if ads is not None and not 1 <= ads <= 2147483647:
        errs.append(invalid(f"{path}.activeDeadlineSeconds", ads, "must be between 1 and 2147483647, inclusive"))
    for key in ("hostname", "subdomain"):
        value = _s(spec.get(key))
        if value:
            errs.extend(invalid(f"{path}.{key}", value, m) for m in is_dns1123_label(value))
    errs.extend(_validate_tolerations(spec.get("tolerations"), f"{path}.tolerations"))
    pcn = _s(spec.get("priorityClassName"))
    if pcn:
        errs.extend(invalid(f"{path}.priorityClassName", pcn, m) for m in name_is_dns_subdomain(pcn))
    pp = spec.get("preemptionPolicy")
    if pp is not None and pp not in ("PreemptLowerPriority", "Never"):
        if not pp:
            errs.append(required(f"{path}.preemptionPolicy"))
        else:
            errs.append(not_supported(f"{path}.preemptionPolicy", pp, ["PreemptLowerPriority", "Never"]))
    if is_pod:
        for group in ("containers", "initContainers"):
            for i, c in enumerate(_l(spec.get(group))):
                image = _s(_d(c).get("image"))
                if image != image.strip():
                    errs.append(invalid(f"{path}.{group}[{i}].image", image,
                                        "must not have leading or trailing whitespace"))
    return errs


def validate_pod_template(template: Any, path: str) -> list[FieldError]:
    """``ValidatePodTemplateSpec``: note labels are reported at ``<path>.labels`` as upstream does."""
    template = _d(template)
    md = _d(template.get("metadata"))
    errs = validate_labels(md.get("labels"), f"{path}.labels")
    errs.extend(validate_annotations(md.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_pod_spec(template.get("spec"), f"{path}.spec", is_pod=False))
    if _l(_d(template.get("spec")).get("ephemeralContainers")):
        errs.append(forbidden(f"{path}.spec.ephemeralContainers", "ephemeral containers not allowed in pod template"))
    return errs


# =============================================================================================
# Kinds
# =============================================================================================

def _nonneg(value: Any, path: str) -> list[FieldError]:
    n = _i(value)
    return [invalid(path, n, IS_NEGATIVE)] if n is not None and n < 0 else []


def validate_label_selector(sel: Any, path: str) -> list[FieldError]:
    """``ValidateLabelSelector``: matchLabels as labels, matchExpressions operators and values."""
    if sel is None:
        return []
    sel = _d(sel)
    errs = validate_labels(sel.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(_l(sel.get("matchExpressions"))):
        expr = _d(expr)
        p = f"{path}.matchExpressions[{i}]"
        op = _s(expr.get("operator"))
        values = _l(expr.get("values"))
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden(f"{p}.values",
                                      "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            errs.append(invalid(f"{p}.operator", op, "not a valid selector operator"))
        key = _s(expr.get("key"))
        errs.extend(invalid(f"{p}.key", key, m) for m in is_label_key(key))
        for j, v in enumerate(values):
            errs.extend(invalid(f"{p}.values[{j}]", v, m) for m in is_label_value(_s(v)))
    return errs


def _selector_and_template(spec: dict[str, Any], path: str, *, workload: str) -> list[FieldError]:
    """Selector presence/emptiness and ``ValidatePodTemplateSpecForReplicaSet``."""
    errs: list[FieldError] = []
    sel = spec.get("selector")
    if sel is None:
        errs.append(required(f"{path}.selector"))
    else:
        errs.extend(validate_label_selector(sel, f"{path}.selector"))
        if not _d(sel).get("matchLabels") and not _d(sel).get("matchExpressions"):
            errs.append(invalid(f"{path}.selector", selector_json(_d(sel)), "empty selector is invalid for deployment"))
    try:
        selector = selector_from_object(None if sel is None else _d(sel))
    except ValueError:
        errs.append(invalid(f"{path}.selector", selector_json(_d(sel)), "invalid label selector"))
        return errs
    template = _d(spec.get("template"))
    tlabels = _d(template.get("metadata")).get("labels")
    if not selector.empty and not selector(_d(tlabels)):
        errs.append(invalid(f"{path}.template.metadata.labels", labels_json(tlabels),
                            "`selector` does not match template `labels`"))
    errs.extend(validate_pod_template(template, f"{path}.template"))
    restart = _d(template.get("spec")).get("restartPolicy")
    if restart != "Always":
        errs.append(not_supported(f"{path}.template.spec.restartPolicy", restart if restart is not None else "",
                                  ["Always"]))
    if _d(template.get("spec")).get("activeDeadlineSeconds") is not None:
        errs.append(forbidden(f"{path}.template.spec.activeDeadlineSeconds",
                              f"activeDeadlineSeconds in {workload} is not Supported"))
    return errs


def _intstr_value(v: Any) -> tuple[int, bool]:
    """``getIntOrPercentValue``: (number, is_percent)."""
    if isinstance(v, str):
        if _PERCENT_RE.fullmatch(v):
            return int(v[:-1]), True
        try:
            return int(v), False
        except ValueError:
            return 0, False
    return (_i(v) or 0), False


def _validate_int_or_percent(v: Any, path: str) -> list[FieldError]:
    if isinstance(v, str):
        if not _PERCENT_RE.fullmatch(v):
            return [invalid(path, v, regex_error("a valid percent string must be a numeric string followed by an "
                                                 "ending '%'", _PERCENT_FMT, "1%", "93%"))]
        return []
    return _nonneg(v, path)


def _deployment_strategy_json(strategy: dict[str, Any]) -> dict[str, Any]:
    ru = strategy.get("rollingUpdate")
    ru_json = None if ru is None else {"MaxUnavailable": _d(ru).get("maxUnavailable"),
                                       "MaxSurge": _d(ru).get("maxSurge")}
    return {"Type": strategy.get("type", ""), "RollingUpdate": ru_json}


def _validate_deployment(obj: dict[str, Any]) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs = _nonneg(spec.get("replicas"), "spec.replicas")
    errs.extend(_selector_and_template(spec, "spec", workload="ReplicaSet"))
    strategy = _d(spec.get("strategy"))
    stype = strategy.get("type")
    if stype == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            errs.append(forbidden("spec.strategy.rollingUpdate",
                                  "may not be specified when strategy `type` is 'Recreate'"))
    elif stype == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if ru is None:
            errs.append(required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"))
        else:
            ru = _d(ru)
            mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
            errs.extend(_validate_int_or_percent(mu, "spec.strategy.rollingUpdate.maxUnavailable"))
            errs.extend(_validate_int_or_percent(ms, "spec.strategy.rollingUpdate.maxSurge"))
            if _intstr_value(mu)[0] == 0 and _intstr_value(ms)[0] == 0:
                errs.append(invalid("spec.strategy.rollingUpdate.maxUnavailable", mu,
                                    "may not be 0 when `maxSurge` is 0"))
            n, pct = _intstr_value(mu)
            if pct and n > 100:
                errs.append(invalid("spec.strategy.rollingUpdate.maxUnavailable", mu, "must not be greater than 100%"))
    else:
        errs.append(not_supported("spec.strategy", _deployment_strategy_json(strategy), ["Recreate", "RollingUpdate"]))
    errs.extend(_nonneg(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    errs.extend(_nonneg(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
    pds = _i(spec.get("progressDeadlineSeconds"))
    if pds is not None:
        errs.extend(_nonneg(pds, "spec.progressDeadlineSeconds"))
        if pds <= (_i(spec.get("minReadySeconds")) or 0):
            errs.append(invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))
    return errs


def _validate_replicaset(obj: dict[str, Any]) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs = _nonneg(spec.get("replicas"), "spec.replicas")
    errs.extend(_nonneg(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    errs.extend(_selector_and_template(spec, "spec", workload="ReplicaSet"))
    return errs


#: Limits of ``pkg/apis/batch/validation``.
_MAX_PARALLELISM_INDEXED = 100_000
_MAX_FAILED_INDEXES = 100_000
_COMPLETIONS_SOFT_LIMIT = 100_000
_HIGH_COMPLETIONS_LIMIT = 10_000  # parallelism and maxFailedIndexes above the soft limit
_MAX_FAILURE_POLICY_RULES = 20
_MAX_EXIT_CODES = 255
_MAX_CONDITION_PATTERNS = 20
_FAILURE_POLICY_ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")
_EXIT_CODE_OPERATORS = ("In", "NotIn")
_CONDITION_STATUSES = ("False", "True", "Unknown")


def too_many(path: str, actual: int, maximum: int) -> FieldError:
    """``field.TooMany``: a list longer than ``maximum`` (the actual length is the bad value)."""
    return FieldError(TOO_MANY, path, actual, f"must have at most {maximum} items")


def _valid_values(values: Iterable[str]) -> str:
    """A Required detail listing choices as Go's ``%q`` prints a ``[]string``."""
    return "valid values: [" + " ".join(go_quote(v) for v in values) + "]"


def _validate_job_indexes(spec: dict[str, Any], path: str) -> list[FieldError]:
    """The counts and per-index limits of ``validateJobSpec``, in upstream order."""
    errs: list[FieldError] = []
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished",
                "backoffLimitPerIndex", "maxFailedIndexes"):
        errs.extend(_nonneg(spec.get(key), f"{path}.{key}"))
    parallelism, completions = _i(spec.get("parallelism")), _i(spec.get("completions"))
    per_index, max_failed = _i(spec.get("backoffLimitPerIndex")), _i(spec.get("maxFailedIndexes"))
    if max_failed is not None and spec.get("backoffLimitPerIndex") is None:
        errs.append(required(f"{path}.backoffLimitPerIndex", "when maxFailedIndexes is specified"))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        errs.append(not_supported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"]))
    if mode == "Indexed":
        if spec.get("completions") is None:
            errs.append(required(f"{path}.completions", "when completion mode is Indexed"))
        if parallelism is not None and parallelism > _MAX_PARALLELISM_INDEXED:
            errs.append(invalid(f"{path}.parallelism", parallelism,
                                f"must be less than or equal to {_MAX_PARALLELISM_INDEXED} when completion mode "
                                "is Indexed"))
        if completions is not None and max_failed is not None and max_failed > completions:
            errs.append(invalid(f"{path}.maxFailedIndexes", max_failed, "must be less than or equal to completions"))
        if max_failed is not None and max_failed > _MAX_FAILED_INDEXES:
            errs.append(invalid(f"{path}.maxFailedIndexes", max_failed,
                                f"must be less than or equal to {_MAX_FAILED_INDEXES}"))
        if completions is not None and completions > _COMPLETIONS_SOFT_LIMIT and per_index is not None:
            high = (f"must be less than or equal to {_HIGH_COMPLETIONS_LIMIT} when completions are above "
                    f"{_COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index")
            if max_failed is None:
                errs.append(required(f"{path}.maxFailedIndexes",
                                     f"must be specified when completions is above {_COMPLETIONS_SOFT_LIMIT}"))
            if parallelism is not None and parallelism > _HIGH_COMPLETIONS_LIMIT:
                errs.append(invalid(f"{path}.parallelism", parallelism, high))
            if max_failed is not None and max_failed > _HIGH_COMPLETIONS_LIMIT:
                errs.append(invalid(f"{path}.maxFailedIndexes", max_failed, high))
    if mode in (None, "NonIndexed"):
        for key in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if spec.get(key) is not None:
                errs.append(invalid(f"{path}.{key}", spec[key], "requires indexed completion mode"))
    return errs


def _template_container_names(spec: dict[str, Any]) -> set[str]:
    pod_spec = _d(_d(spec.get("template")).get("spec"))
    return {_s(_d(c).get("name")) for key in ("containers", "initContainers") for c in _l(pod_spec.get(key))}


def _validate_exit_codes(req: dict[str, Any], path: str, containers: set[str]) -> list[FieldError]:
    """``validatePodFailurePolicyRuleOnExitCodes``."""
    errs: list[FieldError] = []
    operator = req.get("operator")
    if not operator:
        errs.append(required(f"{path}.operator", _valid_values(_EXIT_CODE_OPERATORS)))
    elif operator not in _EXIT_CODE_OPERATORS:
        errs.append(not_supported(f"{path}.operator", operator, _EXIT_CODE_OPERATORS))
    name = req.get("containerName")
    if name is not None and _s(name) not in containers:
        errs.append(invalid(f"{path}.containerName", name,
                            "must be one of the container or initContainer names in the pod template"))
    raw = req.get("values")
    values = _l(raw)
    if not values:
        errs.append(invalid(f"{path}.values", raw if isinstance(raw, list) else None, "at least one value is required"))
    elif len(values) > _MAX_EXIT_CODES:
        errs.append(too_many(f"{path}.values", len(values), _MAX_EXIT_CODES))
    seen: set[int] = set()
    for j, value in enumerate(values):
        if _i(value) is None:
            continue  # a non-integer fails decoding first
        if operator == "In" and value == 0:
            errs.append(invalid(f"{path}.values[{j}]", value, "must not be 0 for the In operator"))
        if value in seen:
            errs.append(duplicate(f"{path}.values[{j}]", value))
        seen.add(value)
    codes = [v for v in values if _i(v) is not None]
    if codes != sorted(codes):
        errs.append(invalid(f"{path}.values", values, "must be ordered"))
    return errs


def _validate_condition_patterns(patterns: list[Any], path: str) -> list[FieldError]:
    """``validatePodFailurePolicyRuleOnPodConditions``: a qualified type and a condition status."""
    errs: list[FieldError] = []
    if len(patterns) > _MAX_CONDITION_PATTERNS:
        errs.append(too_many(path, len(patterns), _MAX_CONDITION_PATTERNS))
    for j, pattern in enumerate(patterns):
        pattern = _d(pattern)
        ctype = _s(pattern.get("type"))
        errs.extend(invalid(f"{path}[{j}].type", ctype, m) for m in is_label_key(ctype))
        status = pattern.get("status")
        if not status:
            errs.append(required(f"{path}[{j}].status", _valid_values(_CONDITION_STATUSES)))
        elif status not in _CONDITION_STATUSES:
            errs.append(not_supported(f"{path}[{j}].status", status, _CONDITION_STATUSES))
    return errs


def _validate_pod_failure_policy(spec: dict[str, Any], path: str) -> list[FieldError]:
    """``validatePodFailurePolicy``: rules with one known action and exactly one kind of requirement."""
    rules = _l(_d(spec.get("podFailurePolicy")).get("rules"))
    errs: list[FieldError] = []
    if len(rules) > _MAX_FAILURE_POLICY_RULES:
        errs.append(too_many(f"{path}.rules", len(rules), _MAX_FAILURE_POLICY_RULES))
    containers = _template_container_names(spec)
    for i, rule in enumerate(rules):
        rule = _d(rule)
        p = f"{path}.rules[{i}]"
        action = rule.get("action")
        if not action:
            errs.append(required(f"{p}.action", _valid_values(_FAILURE_POLICY_ACTIONS)))
        elif action == "FailIndex":
            if spec.get("backoffLimitPerIndex") is None:
                errs.append(invalid(f"{p}.action", action, "requires the backoffLimitPerIndex to be set"))
        elif action not in _FAILURE_POLICY_ACTIONS:
            errs.append(not_supported(f"{p}.action", action, _FAILURE_POLICY_ACTIONS))
        exit_codes = rule.get("onExitCodes")
        conditions = _l(rule.get("onPodConditions"))
        if exit_codes is not None:
            errs.extend(_validate_exit_codes(_d(exit_codes), f"{p}.onExitCodes", containers))
        if conditions:
            errs.extend(_validate_condition_patterns(conditions, f"{p}.onPodConditions"))
        if exit_codes is not None and conditions:
            errs.append(invalid(p, OMIT, "specifying both OnExitCodes and OnPodConditions is not supported"))
        if exit_codes is None and not conditions:
            errs.append(invalid(p, OMIT, "specifying one of OnExitCodes and OnPodConditions is required"))
    return errs


def _validate_job_spec(spec: dict[str, Any], path: str) -> list[FieldError]:
    """``validateJobSpec`` (shared by Jobs and CronJob job templates)."""
    errs = _validate_job_indexes(spec, path)
    if spec.get("podFailurePolicy") is not None:
        errs.extend(_validate_pod_failure_policy(spec, f"{path}.podFailurePolicy"))
    prp = spec.get("podReplacementPolicy")
    if prp is not None:
        if spec.get("podFailurePolicy") is not None:
            if prp != "Failed":
                errs.append(not_supported(f"{path}.podReplacementPolicy", prp, ["Failed"]))
        elif prp not in ("Failed", "TerminatingOrFailed"):
            errs.append(not_supported(f"{path}.podReplacementPolicy", prp, ["Failed", "TerminatingOrFailed"]))
    errs.extend(validate_pod_template(spec.get("template"), f"{path}.template"))
    restart = _d(_d(spec.get("template")).get("spec")).get("restartPolicy")
    rp_path = f"{path}.template.spec.restartPolicy"
    if restart in ("Always", "", None):
        errs.append(required(rp_path, 'valid values: "OnFailure", "Never"'))
    elif restart not in ("OnFailure", "Never"):
        errs.append(not_supported(rp_path, restart, ["OnFailure", "Never"]))
    elif spec.get("podFailurePolicy") is not None and restart != "Never":
        errs.append(invalid(rp_path, restart, 'only "Never" is supported when podFailurePolicy is specified'))
    return errs


def _has_label(template_md: dict[str, Any], key: str, expected: str) -> list[FieldError]:
    labels = _d(template_md.get("labels"))
    path = f"spec.template.metadata.labels[{key}]"
    if key not in labels:
        return [required(path, f"must be '{expected}'")]
    if labels[key] != expected:
        return [invalid(path, labels_json(labels), f"must be '{expected}'")]
    return []


def _validate_job(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    md, spec = _d(obj.get("metadata")), _d(obj.get("spec"))
    errs: list[FieldError] = []
    manual = spec.get("manualSelector") is True
    sel = spec.get("selector")
    # The registry generates the selector from the uid on create; a job still
    # waiting for that (no selector, not manual) is not an error yet.
    pending = sel is None and not manual and old is None
    if not manual and sel is not None:
        uid, name = _s(md.get("uid")), _s(md.get("name"))
        if not uid:
            errs.append(required("metadata.uid"))
        tmd = _d(_d(spec.get("template")).get("metadata"))
        errs.extend(_has_label(tmd, "controller-uid", uid))
        errs.extend(_has_label(tmd, "job-name", name))
        prefixed = old is None or all(k in _d(_d(_d(_d(old.get("spec")).get("template")).get("metadata")).get("labels"))
                                      for k in ("batch.kubernetes.io/job-name", "batch.kubernetes.io/controller-uid"))
        expected = {"controller-uid": uid, "job-name": name}
        if prefixed:
            errs.extend(_has_label(tmd, "batch.kubernetes.io/controller-uid", uid))
            errs.extend(_has_label(tmd, "batch.kubernetes.io/job-name", name))
            expected.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name})
        try:
            if not selector_from_object(_d(sel))(expected):
                errs.append(invalid("spec.selector", selector_json(_d(sel)), "`selector` not auto-generated"))
        except ValueError:
            pass
    errs.extend(_validate_job_spec(spec, "spec"))
    if sel is None:
        if not pending:
            errs.append(required("spec.selector"))
    else:
        errs.extend(validate_label_selector(sel, "spec.selector"))
    if not pending:
        try:
            selector = selector_from_object(None if sel is None else _d(sel))
            tlabels = _d(_d(spec.get("template")).get("metadata")).get("labels")
            if not selector(_d(tlabels)):
                errs.append(invalid("spec.template.metadata.labels", labels_json(tlabels),
                                    "`selector` does not match template `labels`"))
        except ValueError:
            pass
    completions = _i(spec.get("completions"))
    if spec.get("completionMode") == "Indexed" and completions and completions > 0:
        host = f"{_s(md.get('name'))}-{completions - 1}"
        if is_dns1123_label(host):
            errs.append(invalid("metadata.name", _s(md.get("name")),
                                f"will not able to create pod with invalid DNS label: {host}"))
    return errs


def _validate_cronjob(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    ospec = _d(old.get("spec")) if old is not None else None
    errs: list[FieldError] = []
    schedule = _s(spec.get("schedule"))
    tz = spec.get("timeZone")
    if not schedule:
        errs.append(required("spec.schedule"))
    else:
        try:
            parse_cron(schedule)
        except CronError as err:
            errs.append(invalid("spec.schedule", schedule, str(err)))
        allow_tz = ospec is not None and "TZ" in _s(ospec.get("schedule"))
        if allow_tz and "TZ" in schedule and tz is not None:
            errs.append(invalid("spec.schedule", schedule, "cannot use both timeZone field and TZ or CRON_TZ in "
                                                           "schedule"))
        elif not allow_tz and "TZ" in schedule:
            errs.append(invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field "
                                                           "instead"))
    errs.extend(_nonneg(spec.get("startingDeadlineSeconds"), "spec.startingDeadlineSeconds"))
    if tz is not None and (ospec is None or ospec.get("timeZone") != tz):
        tz = _s(tz)
        if not tz:
            errs.append(invalid("spec.timeZone", tz, "timeZone must be nil or non-empty string"))
        elif any(part in (".", "..") or part.startswith("-") or not re.fullmatch(r"[A-Za-z.\-_0-9+]{1,14}", part)
                 for part in tz.split("/")):
            errs.append(invalid("spec.timeZone", tz, f"unknown time zone {tz}"))
        else:
            if tz.lower() == "local":
                errs.append(invalid("spec.timeZone", tz,
                                    "timeZone must be an explicit time zone as defined in "
                                    "https://www.iana.org/time-zones"))
            loc_err = _check_location(tz)
            if loc_err:
                errs.append(invalid("spec.timeZone", tz, loc_err))
    policy = spec.get("concurrencyPolicy")
    if not policy:
        errs.append(required("spec.concurrencyPolicy"))
    elif policy not in ("Allow", "Forbid", "Replace"):
        errs.append(not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"]))
    jt = _d(spec.get("jobTemplate"))
    jspec = _d(jt.get("spec"))
    errs.extend(_validate_job_spec(jspec, "spec.jobTemplate.spec"))
    if jspec.get("selector") is not None:
        errs.append(invalid("spec.jobTemplate.spec.selector", selector_json(_d(jspec["selector"])),
                            "`selector` will be auto-generated"))
    if jspec.get("manualSelector") is True:
        errs.append(not_supported("spec.jobTemplate.spec.manualSelector", True, ["nil", "false"]))
    errs.extend(_nonneg(spec.get("successfulJobsHistoryLimit"), "spec.successfulJobsHistoryLimit"))
    errs.extend(_nonneg(spec.get("failedJobsHistoryLimit"), "spec.failedJobsHistoryLimit"))
    name = _s(_d(obj.get("metadata")).get("name"))
    if old is None and len(name) > 52:
        errs.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    return errs


def _service_port_json(port: dict[str, Any]) -> dict[str, Any]:
    return {"Name": "", "Protocol": port.get("protocol", ""), "AppProtocol": None, "Port": port.get("port", 0),
            "TargetPort": 0, "NodePort": 0}


def _validate_service(obj: dict[str, Any]) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs: list[FieldError] = []
    stype = spec.get("type")
    cluster_ips = [_s(ip) for ip in _l(spec.get("clusterIPs"))]
    headless = len(cluster_ips) == 1 and cluster_ips[0] == "None"
    ports = [_d(p) for p in _l(spec.get("ports"))]
    if not ports and not headless and stype != "ExternalName":
        errs.append(required("spec.ports"))
    if stype in ("LoadBalancer", "NodePort") and headless:
        errs.append(invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {stype} services"))
    elif stype == "ExternalName":
        if cluster_ips:
            errs.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if _l(spec.get("ipFamilies")):
            errs.append(forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        cname = _s(spec.get("externalName")).removesuffix(".")
        if cname:
            errs.extend(invalid("spec.externalName", cname, m) for m in is_dns1123_subdomain(cname))
        else:
            errs.append(required("spec.externalName"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = f"spec.ports[{i}]"
        pname = _s(port.get("name"))
        if len(ports) > 1 and not pname:
            errs.append(required(f"{p}.name"))
        elif pname:
            errs.extend(invalid(f"{p}.name", pname, m) for m in is_dns1123_label(pname))
            if pname in names:
                errs.append(duplicate(f"{p}.name", pname))
            else:
                names.add(pname)
        num = _i(port.get("port")) or 0
        errs.extend(invalid(f"{p}.port", num, m) for m in _port_range(num))
        errs.extend(_choice_errors(port.get("protocol"), f"{p}.protocol", _PROTOCOLS))
        errs.extend(_port_num_or_name(port.get("targetPort", 0), f"{p}.targetPort"))
        if port.get("appProtocol") is not None:
            ap = _s(port.get("appProtocol"))
            errs.extend(invalid(f"{p}.appProtocol", ap, m) for m in is_label_key(ap))
    if spec.get("selector") is not None:
        errs.extend(validate_labels(spec.get("selector"), "spec.selector"))
    affinity = spec.get("sessionAffinity")
    if not affinity:
        errs.append(required("spec.sessionAffinity"))
    elif affinity not in ("ClientIP", "None"):
        errs.append(not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    if affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))
    if stype != "ExternalName":
        cip = _s(spec.get("clusterIP"))
        if cip:
            if not cluster_ips:
                errs.append(required("spec.clusterIPs"))
            elif cluster_ips[0] != cip:
                errs.append(invalid("spec.clusterIPs", cluster_ips, "first value must match `clusterIP`"))
        elif cluster_ips:
            errs.append(invalid("spec.clusterIPs", cluster_ips, "must be empty when `clusterIP` is not specified"))
        for i, fam in enumerate(_l(spec.get("ipFamilies"))):
            if fam not in ("IPv4", "IPv6"):
                errs.append(not_supported(f"spec.ipFamilies[{i}]", fam, ["IPv4", "IPv6"]))
        policy = spec.get("ipFamilyPolicy")
        if policy is not None and policy not in ("PreferDualStack", "RequireDualStack", "SingleStack"):
            errs.append(not_supported("spec.ipFamilyPolicy", policy,
                                      ["PreferDualStack", "RequireDualStack", "SingleStack"]))
    if not stype:
        errs.append(required("spec.type"))
    elif stype not in ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"):
        errs.append(not_supported("spec.type", stype, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]))
    if stype == "ClusterIP":
        for i, port in enumerate(ports):
            if _i(port.get("nodePort")):
                errs.append(forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"))
    seen_node: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        np = _i(port.get("nodePort")) or 0
        if np:
            node_key: tuple[Any, Any] = (port.get("protocol"), np)
            if node_key in seen_node:
                errs.append(duplicate(f"spec.ports[{i}].nodePort", np))
            seen_node.add(node_key)
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        key = (port.get("protocol"), port.get("port"))
        if key in seen:
            errs.append(duplicate(f"spec.ports[{i}]", _service_port_json(port)))
        seen.add(key)
    if spec.get("allocateLoadBalancerNodePorts") is not None and stype != "LoadBalancer":
        errs.append(forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"))
    externally = stype in ("LoadBalancer", "NodePort") or (stype == "ClusterIP" and _l(spec.get("externalIPs")))
    etp = spec.get("externalTrafficPolicy")
    if not externally:
        if etp:
            errs.append(invalid("spec.externalTrafficPolicy", etp,
                                "may only be set for externally-accessible services"))
    elif not etp:
        errs.append(required("spec.externalTrafficPolicy"))
    elif etp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    itp = spec.get("internalTrafficPolicy")
    if itp is None:
        if stype in ("NodePort", "LoadBalancer", "ClusterIP"):
            errs.append(required("spec.internalTrafficPolicy"))
    elif itp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    return errs


def _validate_service_update(obj: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    spec, ospec = _d(obj.get("spec")), _d(old.get("spec"))
    if "ExternalName" in (spec.get("type"), ospec.get("type")):
        return []
    new_ips, old_ips = [_s(x) for x in _l(spec.get("clusterIPs"))], [_s(x) for x in _l(ospec.get("clusterIPs"))]
    if old_ips == ["None"] and new_ips == ["None"]:
        return []
    errs: list[FieldError] = []
    if len(old_ips) == len(new_ips):
        for i, ip in enumerate(old_ips):
            if ip != new_ips[i]:
                errs.append(invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set"))
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errs.append(invalid("spec.clusterIPs[0]", new_ips, "primary clusterIP can not be unset"))
        elif old_ips and new_ips[0] != old_ips[0]:
            errs.append(invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
    new_fam, old_fam = _l(spec.get("ipFamilies")), _l(ospec.get("ipFamilies"))
    if len(new_fam) == len(old_fam) and new_fam != old_fam:
        errs.append(invalid("spec.ipFamilies[0]", new_fam, "may not change once set"))
    return errs


def _validate_namespace(obj: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    for f in _l(_d(obj.get("spec")).get("finalizers")):
        f = _s(f)
        errs.extend(invalid("spec.finalizers", f, m) for m in is_label_key(f))
        if "/" not in f and f not in _STANDARD_FINALIZERS:
            errs.append(invalid("spec.finalizers", f, "name is neither a standard finalizer name nor is it fully "
                                                      "qualified"))
    return errs


def _data_keys(data: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in sorted(_d(data)):
        errs.extend(invalid(f"{path}[{key}]", key, m) for m in is_config_map_key(key))
    return errs


_MAX_SECRET_SIZE = 1024 * 1024


def _validate_configmap(obj: dict[str, Any]) -> list[FieldError]:
    data, binary = _d(obj.get("data")), _d(obj.get("binaryData"))
    errs = _data_keys(data, "data")
    errs.extend(invalid(f"data[{k}]", k, "duplicate of key present in binaryData") for k in sorted(data) if k in binary)
    errs.extend(_data_keys(binary, "binaryData"))
    size = sum(len(_s(v).encode()) for v in data.values()) + sum(len(_s(v)) * 3 // 4 for v in binary.values())
    if size > _MAX_SECRET_SIZE:
        errs.append(too_long("", _MAX_SECRET_SIZE))
    return errs


def _validate_secret(obj: dict[str, Any]) -> list[FieldError]:
    data = _d(obj.get("data"))
    errs = _data_keys(data, "data")
    size = sum(len(_s(v)) * 3 // 4 for v in data.values())
    if size > _MAX_SECRET_SIZE:
        errs.append(too_long("data", _MAX_SECRET_SIZE))
    stype = obj.get("type") or ""
    if stype == "kubernetes.io/service-account-token":
        if not _d(_d(obj.get("metadata")).get("annotations")).get("kubernetes.io/service-account.name"):
            errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    elif stype == "kubernetes.io/dockercfg":
        if ".dockercfg" not in data:
            errs.append(required("data[.dockercfg]"))
    elif stype == "kubernetes.io/dockerconfigjson":
        if ".dockerconfigjson" not in data:
            errs.append(required("data[.dockerconfigjson]"))
    elif stype == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs.extend([required("data[username]"), required("data[password]")])
    elif stype == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            errs.append(required("data[ssh-privatekey]"))
    elif stype == "kubernetes.io/tls":
        errs.extend(required(f"data[{key}]") for key in ("tls.crt", "tls.key") if key not in data)
    return errs


def _immutable_data(obj: dict[str, Any], old: dict[str, Any], keys: tuple[str, ...]) -> list[FieldError]:
    if old.get("immutable") is not True:
        return []
    errs: list[FieldError] = []
    if obj.get("immutable") is not True:
        errs.append(forbidden("immutable", "field is immutable when `immutable` is set"))
    for key in keys:
        if (obj.get(key) or {}) != (old.get(key) or {}):
            errs.append(forbidden(key, "field is immutable when `immutable` is set"))
    return errs


# ---------------------------------------------------------------------------------------------
# Pod updates
# ---------------------------------------------------------------------------------------------

UPDATABLE_POD_FIELDS = ",".join([
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
])


def _go_field(name: str) -> str:
    return name[:1].upper() + name[1:] if name else name


def _spec_diff(old: Any, new: Any, path: str = "") -> list[str]:
    """A compact stand-in for go-cmp's diff: one ``-``/``+`` pair per changed leaf."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{_go_field(key)}" if path else _go_field(key)
            if old.get(key) != new.get(key):
                lines.extend(_spec_diff(old.get(key), new.get(key), sub))
        return lines
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        lines = []
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            if a != b:
                lines.extend(_spec_diff(a, b, f"{path}[{i}]"))
        return lines
    lines = []
    if old is not None:
        lines.append(f"- \t{path}: {go_json(old)},")
    if new is not None:
        lines.append(f"+ \t{path}: {go_json(new)},")
    return lines


def _validate_pod_update(obj: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    spec, ospec = _d(obj.get("spec")), _d(old.get("spec"))
    errs: list[FieldError] = []
    for group in ("containers", "initContainers"):
        new_c, old_c = _l(spec.get(group)), _l(ospec.get(group))
        if len(new_c) != len(old_c):
            errs.append(forbidden(f"spec.{group}", "pod updates may not add or remove containers"))
            return errs
    ads, oads = _i(spec.get("activeDeadlineSeconds")), _i(ospec.get("activeDeadlineSeconds"))
    if spec.get("activeDeadlineSeconds") is not None and ads is not None:
        if not 0 <= ads <= 2147483647:
            errs.append(invalid("spec.activeDeadlineSeconds", ads, "must be between 0 and 2147483647, inclusive"))
            return errs
        if oads is not None and oads < ads:
            errs.append(invalid("spec.activeDeadlineSeconds", ads, "must be less than or equal to previous value"))
            return errs
    elif ospec.get("activeDeadlineSeconds") is not None:
        errs.append(invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"))
    new_tol = [_d(t) for t in _l(spec.get("tolerations"))]
    for ot in _l(ospec.get("tolerations")):
        ot = _d(ot)
        kept = {k: v for k, v in ot.items() if k != "tolerationSeconds"}
        if not any(kept == {k: v for k, v in nt.items() if k != "tolerationSeconds"} for nt in new_tol):
            errs.append(forbidden("spec.tolerations", "existing toleration can not be modified except its "
                                                      "tolerationSeconds"))
            break
    if spec == ospec:
        return errs
    munged = json.loads(json.dumps(spec))
    for group in ("containers", "initContainers"):
        for c, oc in zip(_l(munged.get(group)), _l(ospec.get(group)), strict=False):
            if isinstance(c, dict):
                c["image"] = _d(oc).get("image")
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        if key in ospec:
            munged[key] = ospec[key]
        else:
            munged.pop(key, None)
    otgp = _i(ospec.get("terminationGracePeriodSeconds"))
    if otgp is not None and otgp < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = otgp
    if munged != ospec:
        diff = "\n".join(["  core.PodSpec{", *_spec_diff(ospec, munged), "  }"])
        errs.append(forbidden("spec", f"pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n{diff}\n"))
    return errs


# =============================================================================================
# Entry point
# =============================================================================================

_NAME_FNS: dict[str, NameFn] = {
    "namespaces": name_is_dns_label,
    "services": name_is_dns1035_label,
}


def validate_errors(rt: ResourceType, obj: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Like :func:`validate` but returning :class:`FieldError` values (useful for tests and tooling)."""
    obj = dict(obj)
    oldd = dict(old) if old is not None else None
    md = _d(obj.get("metadata"))
    kind = rt.kind
    if oldd is None:
        errs = validate_object_meta(md, rt.namespaced, _NAME_FNS.get(rt.plural, name_is_dns_subdomain))
    else:
        errs = validate_object_meta_update(md, oldd.get("metadata"), rt.namespaced)
    group = rt.group
    if kind == "Pod" and group == "":
        spec_errs = validate_pod_spec(obj.get("spec"), "spec", is_pod=True)
        if oldd is None and _l(_d(obj.get("spec")).get("ephemeralContainers")):
            spec_errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
        errs.extend(spec_errs)
        if oldd is not None:
            errs.extend(_validate_pod_update(obj, oldd))
    elif kind == "Deployment":
        errs.extend(_validate_deployment(obj))
    elif kind == "ReplicaSet":
        errs.extend(_validate_replicaset(obj))
    elif kind == "Job":
        errs.extend(_validate_job(obj, oldd))
        if oldd is not None:
            spec, ospec = _d(obj.get("spec")), _d(oldd.get("spec"))
            for key in ("completions", "selector", "template", "completionMode", "podFailurePolicy",
                        "backoffLimitPerIndex", "managedBy", "successPolicy"):
                if spec.get(key) != ospec.get(key):
                    value = selector_json(spec.get(key)) if key == "selector" else spec.get(key)
                    errs.append(invalid(f"spec.{key}", value, FIELD_IMMUTABLE))
    elif kind == "CronJob":
        errs.extend(_validate_cronjob(obj, oldd))
    elif kind == "Service" and group == "":
        if oldd is not None:
            errs.extend(_validate_service_update(obj, oldd))
        errs.extend(_validate_service(obj))
    elif kind == "Namespace":
        if oldd is None:
            errs.extend(_validate_namespace(obj))
    elif kind == "ConfigMap":
        errs.extend(_validate_configmap(obj))
        if oldd is not None:
            errs = _immutable_data(obj, oldd, ("data", "binaryData")) + errs
    elif kind == "Secret":
        if oldd is not None:
            if (obj.get("type") or "Opaque") != (oldd.get("type") or "Opaque"):
                errs.append(invalid("type", obj.get("type") or "", FIELD_IMMUTABLE))
            errs.extend(_immutable_data(obj, oldd, ("data",)))
        errs.extend(_validate_secret(obj))
    if oldd is not None and kind in ("Deployment", "ReplicaSet"):
        sel, osel = _d(obj.get("spec")).get("selector"), _d(oldd.get("spec")).get("selector")
        if sel != osel:
            errs.append(invalid("spec.selector", selector_json(sel), FIELD_IMMUTABLE))
    # field.ErrorList.ToAggregate drops repeated messages; so do we.
    unique: list[FieldError] = []
    seen: set[str] = set()
    for e in errs:
        text = str(e)
        if text not in seen:
            seen.add(text)
            unique.append(e)
    return unique


def validate(rt: ResourceType, obj: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> list[errors.Cause]:
    """Validate a defaulted object (create when ``old`` is None, else update) as kube-apiserver does.

    Args:
        rt: The resource type.
        obj: The object after :func:`.defaults.apply_defaults` and ``prepare_create``/``prepare_update``.
        old: The stored object, for updates.

    Returns:
        The causes of a 422 Invalid answer, in the order the real validators
        report them; empty when the object is valid. Pass them to :func:`errors.invalid`.
    """
    return [e.cause() for e in validate_errors(rt, obj, old)]
