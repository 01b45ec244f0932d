"""Label and field selectors, parsed and matched the way kube-apiserver does.

Three things live here because they share one vocabulary, the label:

* **Label syntax checks** (``is_label_key``, ``is_label_value``, DNS names) with
  the exact messages of ``k8s.io/apimachinery/pkg/api/validate/content`` and
  ``pkg/util/validation``; :mod:`.validation` reuses them.
* **Label selectors**: the ``?labelSelector=`` query syntax (``a=b``, ``a==b``,
  ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``, ``a>1``, ``a<1``,
  comma = AND) parsed by a port of ``labels.Parse`` so malformed input fails with
  the same message text, and ``LabelSelector`` objects (``matchLabels`` /
  ``matchExpressions``) converted as ``metav1.LabelSelectorAsSelector`` does.
* **Field selectors**: ``?fieldSelector=`` terms (``=``, ``==``, ``!=``) with
  the per-kind field lists and "not supported" messages of the real server.

Selectors are compiled once into small closures, so filtering thousands of
objects costs a dictionary lookup or two per object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Iterable, Mapping

from . import errors
from .resources import ResourceType

__all__ = [
    "LabelSelector", "FieldSelector", "Requirement",
    "parse_label_selector", "selector_from_object", "matches_label_selector",
    "selector_to_string", "format_label_selector",
    "parse_field_selector", "compile_field_selector", "field_getter", "supported_fields",
    "is_label_key", "is_label_value", "is_dns1123_label", "is_dns1123_subdomain", "is_dns1035_label",
    "regex_error", "go_quote",
]

# ---------------------------------------------------------------------------------------------
# Go string quoting (fmt %q / strconv.Quote): the form every "Invalid value: ..." uses for strings.
# ---------------------------------------------------------------------------------------------

_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(s: str) -> str:
    """Quote ``s`` as Go's ``%q`` does: printable runes kept, the rest escaped."""
    if s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    out = ['"']
    for ch in s:
        esc = _GO_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch.isprintable():
            out.append(ch)
        else:
            cp = ord(ch)
            if cp < 0x20 or cp == 0x7F:
                out.append(f"\\x{cp:02x}")
            elif cp < 0x10000:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Label and DNS name syntax (apimachinery content/kube.go, content/dns.go, util/validation).
# ---------------------------------------------------------------------------------------------

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + LABEL_KEY_FMT + ")?"

_DNS1123_LABEL_RE = re.compile(DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = re.compile(DNS1035_LABEL_FMT)
_LABEL_KEY_RE = re.compile(LABEL_KEY_FMT)
_LABEL_VALUE_RE = re.compile(LABEL_VALUE_FMT)

_DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                      "and must start and end with an alphanumeric character")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                          "'-' or '.', and must start and end with an alphanumeric character")
_DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                      "start with an alphabetic character, and end with an alphanumeric character")
_LABEL_KEY_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', "
                  "and must start and end with an alphanumeric character")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character")


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``validation.RegexError``: the message, examples, and the regex shown to the user."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    msg += " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            msg += " or "
        msg += f"'{ex}', "
    return msg + f"regex used for validation is '{fmt}')"


def _nbytes(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


def _max_len_chars(n: int) -> str:
    return f"must be no more than {n} characters"


def _max_len_bytes(n: int) -> str:
    return f"must be no more than {n} bytes"


def is_dns1123_subdomain(value: str, *, unit: str = "characters") -> list[str]:
    """``IsDNS1123Subdomain``; ``unit`` is "bytes" in the newer ``content`` package variant."""
    errs: list[str] = []
    if _nbytes(value) > 253:
        errs.append(_max_len_bytes(253) if unit == "bytes" else _max_len_chars(253))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1123_label(value: str) -> list[str]:
    """``IsDNS1123Label``: lower-case alphanumerics and '-', at most 63 characters."""
    errs: list[str] = []
    if _nbytes(value) > 63:
        errs.append(_max_len_chars(63))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    """``IsDNS1035Label``: like a DNS-1123 label but starting with a letter (Service names)."""
    errs: list[str] = []
    if _nbytes(value) > 63:
        errs.append(_max_len_chars(63))
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errs.append(regex_error(_DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_label_key(value: str) -> list[str]:
    """``content.IsLabelKey`` (a.k.a. ``IsQualifiedName``): ``[prefix/]name``."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix, unit="bytes"))
    else:
        return [
            "a valid label key " + regex_error(_LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif _nbytes(name) > 63:
        errs.append("name part " + _max_len_bytes(63))
    if not _LABEL_KEY_RE.fullmatch(name):
        errs.append("name part " + regex_error(_LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_label_value(value: str) -> list[str]:
    """``content.IsLabelValue``: empty, or alphanumerics with '-', '_', '.' inside, at most 63 bytes."""
    errs: list[str] = []
    if _nbytes(value) > 63:
        errs.append(_max_len_bytes(63))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(regex_error(_LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


# ---------------------------------------------------------------------------------------------
# Label selector requirements and their compiled matchers.
# ---------------------------------------------------------------------------------------------

_MISSING = object()

# selection.Operator strings, as the Go code spells them.
IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "in", "notin", "=", "==", "!="
GREATER_THAN, LESS_THAN, EXISTS, DOES_NOT_EXIST = "gt", "lt", "exists", "!"
BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)

_INT64_RE = re.compile(r"[+-]?[0-9]+")


def _parse_int64(s: str) -> int | None:
    """``strconv.ParseInt(s, 10, 64)``, or None when it would fail."""
    if not _INT64_RE.fullmatch(s):
        return None
    n = int(s)
    return n if -(1 << 63) <= n < (1 << 63) else None


@dataclass(frozen=True)
class Requirement:
    """One ``key op values`` term of a label selector (``labels.Requirement``)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        symbol = {EQUALS: "=", DOUBLE_EQUALS: "==", NOT_EQUALS: "!=", IN: " in ", NOT_IN: " notin ",
                  GREATER_THAN: ">", LESS_THAN: "<"}[op]
        vals = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            vals = f"({vals})"
        return self.key + symbol + vals

    def compile(self) -> Callable[[Mapping[str, Any]], bool]:
        """A fast predicate over a labels mapping."""
        key, op, values = self.key, self.operator, self.values
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            if len(values) == 1:
                want = values[0]
                return lambda labels: labels.get(key, _MISSING) == want
            wanted = frozenset(values)
            return lambda labels: labels.get(key, _MISSING) in wanted
        if op in (NOT_IN, NOT_EQUALS):
            unwanted = frozenset(values)
            return lambda labels: labels.get(key, _MISSING) not in unwanted
        if op == EXISTS:
            return lambda labels: key in labels
        if op == DOES_NOT_EXIST:
            return lambda labels: key not in labels
        bound = _parse_int64(values[0]) if len(values) == 1 else None
        greater = op == GREATER_THAN

        def compare(labels: Mapping[str, Any]) -> bool:
            raw = labels.get(key)
            if raw is None or bound is None:
                return False
            n = _parse_int64(str(raw))
            if n is None:
                return False
            return n > bound if greater else n < bound

        return compare

    def matches(self, labels: Mapping[str, Any] | None) -> bool:
        return self.compile()(labels or {})


class LabelSelector:
    """A compiled label selector: call it with a labels mapping to test a match.

    ``LabelSelector.everything()`` matches all label sets; ``LabelSelector.nothing()``
    (the meaning of an absent selector on a controller) matches none.
    """

    __slots__ = ("requirements", "_nothing", "_preds", "_eq")

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False) -> None:
        reqs = sorted(requirements, key=lambda r: r.key)
        self.requirements: tuple[Requirement, ...] = tuple(reqs)
        self._nothing = nothing
        self._preds = tuple(r.compile() for r in reqs)
        # Pure equality selectors (the common case) get a tighter loop.
        self._eq: tuple[tuple[str, str], ...] | None = None
        if reqs and all(r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1 for r in reqs):
            self._eq = tuple((r.key, r.values[0]) for r in reqs)

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def nothing(cls) -> LabelSelector:
        return cls(nothing=True)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (``Selector.Empty``)."""
        return not self._nothing and not self.requirements

    @property
    def matches_nothing(self) -> bool:
        return self._nothing

    def __call__(self, labels: Mapping[str, Any] | None) -> bool:
        if self._nothing:
            return False
        if labels is None:
            labels = {}
        eq = self._eq
        if eq is not None:
            for key, want in eq:
                if labels.get(key, _MISSING) != want:
                    return False
            return True
        for pred in self._preds:
            if not pred(labels):
                return False
        return True

    matches = __call__

    def filter(self, objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The objects whose ``metadata.labels`` match."""
        return [o for o in objects if self((o.get("metadata") or {}).get("labels") or {})]

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        if self._nothing:
            return "LabelSelector.nothing()"
        return f"LabelSelector({str(self)!r})"


# ---------------------------------------------------------------------------------------------
# labels.Parse: lexer and recursive-descent parser with the same error texts.
# ---------------------------------------------------------------------------------------------

(_ERROR, _EOS, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _IDENT, _IN, _LT, _NEQ, _NOTIN, _OPEN) = range(14)
_STRING_TOKENS = {")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DEQ, "=": _EQ, ">": _GT, "in": _IN,
                  "<": _LT, "!=": _NEQ, "notin": _NOTIN, "(": _OPEN}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")


class _ParseError(Exception):
    pass


def _lex(s: str) -> list[tuple[int, str]]:
    """Split a selector into (token, literal) pairs, ending with end-of-string.

    Mirrors Go's byte lexer, including its reading of a NUL byte: at the start
    of a token it ends the input; inside a token it ends the token and is skipped.
    """
    items: list[tuple[int, str]] = []
    n = len(s)
    pos = 0
    while True:
        while pos < n and s[pos] in _WHITESPACE:
            pos += 1
        if pos >= n or s[pos] == "\x00":
            items.append((_EOS, ""))
            return items
        if s[pos] in _SPECIAL:
            buf = ""
            last: tuple[int, str] | None = None
            while pos < n:
                ch = s[pos]
                if ch == "\x00":
                    pos += 1
                    break
                if ch not in _SPECIAL:
                    break
                tok = _STRING_TOKENS.get(buf + ch)
                if tok is None and last is not None:
                    break
                buf += ch
                pos += 1
                if tok is not None:
                    last = (tok, buf)
            items.append(last if last is not None else (_ERROR, f"error expected: keyword found '{buf}'"))
        else:
            start = pos
            while pos < n and s[pos] not in _SPECIAL and s[pos] not in _WHITESPACE and s[pos] != "\x00":
                pos += 1
            word = s[start:pos]
            if pos < n and s[pos] == "\x00":
                pos += 1
            items.append((_STRING_TOKENS.get(word, _IDENT), word))


class _Parser:
    def __init__(self, selector: str) -> None:
        self.items = _lex(selector)
        self.pos = 0

    def _at(self, i: int, values: bool) -> tuple[int, str]:
        tok, lit = self.items[min(i, len(self.items) - 1)]
        if values and tok in (_IN, _NOTIN):
            tok = _IDENT
        return tok, lit

    def lookahead(self, values: bool = True) -> tuple[int, str]:
        return self._at(self.pos, values)

    def consume(self, values: bool = True) -> tuple[int, str]:
        item = self._at(self.pos, values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok in (_IDENT, _NOT):
                try:
                    reqs.append(self.requirement())
                except _ParseError as err:
                    raise _ParseError(f"unable to parse requirement: {err}") from None
                tok, lit = self.consume()
                if tok == _EOS:
                    return reqs
                if tok == _COMMA:
                    tok2, lit2 = self.lookahead()
                    if tok2 not in (_IDENT, _NOT):
                        raise _ParseError(f"found '{lit2}', expected: identifier after ','")
                else:
                    raise _ParseError(f"found '{lit}', expected: ',' or 'end of string'")
            elif tok == _EOS:
                return reqs
            else:
                raise _ParseError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        key, op = self.key_and_operator()
        if op in (EXISTS, DOES_NOT_EXIST):
            return new_requirement(key, op, [])
        op = self.operator()
        values = self.value_set() if op in (IN, NOT_IN) else self.exact_value()
        return new_requirement(key, op, sorted(values))

    def key_and_operator(self) -> tuple[str, str]:
        op = ""
        tok, lit = self.consume()
        if tok == _NOT:
            op = DOES_NOT_EXIST
            tok, lit = self.consume()
        if tok != _IDENT:
            raise _ParseError(f"found '{lit}', expected: identifier")
        msgs = is_label_key(lit)
        if msgs:
            raise _ParseError(f"<nil>: Invalid value: {go_quote(lit)}: {'; '.join(msgs)}")
        if self.lookahead()[0] in (_EOS, _COMMA) and op != DOES_NOT_EXIST:
            op = EXISTS
        return lit, op

    def operator(self) -> str:
        tok, lit = self.consume(values=False)
        ops = {_IN: IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _GT: GREATER_THAN, _LT: LESS_THAN,
               _NOTIN: NOT_IN, _NEQ: NOT_EQUALS}
        if tok not in ops:
            raise _ParseError(f"found '{lit}', expected: {', '.join(BINARY_OPERATORS)}")
        return ops[tok]

    def value_set(self) -> set[str]:
        tok, lit = self.consume()
        if tok != _OPEN:
            raise _ParseError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok in (_IDENT, _COMMA):
            values = self.identifiers()
            if self.consume()[0] != _CLOSE:
                raise _ParseError(f"found '{lit}', expected: ')'")
            return values
        if tok == _CLOSE:
            self.consume()
            return {""}
        raise _ParseError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.consume()
            if tok == _IDENT:
                values.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return values
                raise _ParseError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not values:
                    values.add("")
                tok2, _ = self.lookahead()
                if tok2 == _CLOSE:
                    values.add("")
                    return values
                if tok2 == _COMMA:
                    values.add("")
                continue
            raise _ParseError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        tok, _ = self.lookahead()
        if tok in (_EOS, _COMMA):
            return {""}
        tok, lit = self.consume()
        if tok == _IDENT:
            return {lit}
        raise _ParseError(f"found '{lit}', expected: identifier")


def _aggregate(messages: list[str]) -> str:
    """``utilerrors.Aggregate.Error()``: one message bare, several deduplicated in brackets."""
    seen: list[str] = []
    for m in messages:
        if m not in seen:
            seen.append(m)
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


def new_requirement(key: str, op: str, values: list[str], path: str = "") -> Requirement:
    """``labels.NewRequirement``: validate and build one requirement.

    Raises:
        _ParseError: with the aggregated field errors, e.g.
            ``values[0][app]: Invalid value: "a b": a valid label must be ...``.
    """
    def child(name: str) -> str:
        return f"{path}.{name}" if path else name

    errs: list[str] = []
    msgs = is_label_key(key)
    if msgs:
        errs.append(f"{child('key')}: Invalid value: {go_quote(key)}: {'; '.join(msgs)}")
    vpath = child("values")
    if op in (IN, NOT_IN):
        if not values:
            errs.append(f"{vpath}: Invalid value: []: for 'in', 'notin' operators, values set can't be empty")
    elif op in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(values) != 1:
            errs.append(f"{vpath}: Invalid value: {_json_list(values)}: exact-match compatibility requires one "
                        "single value")
    elif op in (EXISTS, DOES_NOT_EXIST):
        if values:
            errs.append(f"{vpath}: Invalid value: {_json_list(values)}: values set must be empty for exists and does "
                        "not exist")
    elif op in (GREATER_THAN, LESS_THAN):
        if len(values) != 1:
            errs.append(f"{vpath}: Invalid value: {_json_list(values)}: for 'Gt', 'Lt' operators, exactly one value "
                        "is required")
        for i, v in enumerate(values):
            if _parse_int64(v) is None:
                errs.append(f"{vpath}[{i}]: Invalid value: {go_quote(v)}: for 'Gt', 'Lt' operators, the value must "
                            "be an integer")
    else:
        valid = ", ".join(go_quote(o) for o in BINARY_OPERATORS + (EXISTS, DOES_NOT_EXIST))
        errs.append(f"{child('operator')}: Unsupported value: {go_quote(op)}: supported values: {valid}")
    for i, v in enumerate(values):
        msgs = is_label_value(v)
        if msgs:
            errs.append(f"{vpath}[{i}][{key}]: Invalid value: {go_quote(v)}: {'; '.join(msgs)}")
    if errs:
        raise _ParseError(_aggregate(errs))
    return Requirement(key, op, tuple(values))


def _json_list(values: list[str]) -> str:
    return "[" + ",".join(go_quote(v) for v in values) + "]"


def parse_label_selector(selector: str) -> LabelSelector:
    """Parse a ``labelSelector`` query parameter, as ``labels.Parse`` does.

    Args:
        selector: e.g. ``"app=web,tier in (a,b),!canary"``; empty means everything.

    Returns:
        A compiled :class:`LabelSelector` (callable on a labels mapping).

    Raises:
        errors.APIError: 400 BadRequest with the real parser's message, e.g.
            ``unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt``.
    """
    try:
        return LabelSelector(_Parser(selector).parse())
    except _ParseError as err:
        raise errors.bad_request(str(err)) from None
    except RecursionError:  # pragma: no cover - the parser is iterative
        raise errors.bad_request("unable to parse requirement") from None


# ---------------------------------------------------------------------------------------------
# metav1.LabelSelector objects.
# ---------------------------------------------------------------------------------------------

_EXPR_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def selector_from_object(sel: Mapping[str, Any] | None) -> LabelSelector:
    """``metav1.LabelSelectorAsSelector``: a ``{matchLabels, matchExpressions}`` object as a selector.

    ``None`` selects nothing; an empty object selects everything.

    Raises:
        ValueError: with the real message, e.g. ``"Foo" is not a valid label selector operator``.
    """
    if sel is None:
        return LabelSelector.nothing()
    if not isinstance(sel, Mapping):
        raise ValueError("a label selector must be an object")
    match_labels = sel.get("matchLabels") or {}
    exprs = sel.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(exprs, list):
        raise ValueError("matchLabels must be an object and matchExpressions a list")
    if not match_labels and not exprs:
        return LabelSelector.everything()
    reqs: list[Requirement] = []
    try:
        for k, v in match_labels.items():
            reqs.append(new_requirement(str(k), EQUALS, [v if isinstance(v, str) else str(v)]))
        for expr in exprs:
            expr = expr if isinstance(expr, Mapping) else {}
            op = _EXPR_OPERATORS.get(str(expr.get("operator")))
            if op is None:
                raise ValueError(f"{go_quote(str(expr.get('operator') or ''))} is not a valid label selector operator")
            reqs.append(new_requirement(str(expr.get("key") or ""), op, [str(v) for v in expr.get("values") or []]))
    except _ParseError as err:
        raise ValueError(str(err)) from None
    return LabelSelector(reqs)


def matches_label_selector(sel: Mapping[str, Any] | None, labels: Mapping[str, Any] | None) -> bool:
    """Whether a ``LabelSelector`` object selects ``labels`` (invalid selectors match nothing)."""
    try:
        return selector_from_object(sel)(labels or {})
    except ValueError:
        return False


def selector_to_string(sel: Mapping[str, Any] | None) -> str:
    """``selector.String()`` of a ``LabelSelector`` object: ``app=web,tier in (a,b)``; "" if empty."""
    try:
        return str(selector_from_object(sel))
    except ValueError:
        return ""


def format_label_selector(sel: Mapping[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector``, as kubectl shows selectors: ``<none>`` when empty."""
    try:
        text = str(selector_from_object(sel))
    except ValueError:
        return "<error>"
    return text or "<none>"


# ---------------------------------------------------------------------------------------------
# Field selectors.
# ---------------------------------------------------------------------------------------------

_FIELD_OPERATORS = ("!=", "==", "=")


def _split_terms(s: str) -> list[str]:
    """Comma-separated terms; a backslash escapes the next character."""
    terms: list[str] = []
    start = 0
    escaped = False
    for i, ch in enumerate(s):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(s[start:i])
            start = i + 1
    terms.append(s[start:])
    return terms


def _unescape_value(s: str) -> str:
    if not any(c in s for c in "\\,="):
        return s
    out: list[str] = []
    escaped = False
    for ch in s:
        if escaped:
            if ch not in "\\,=":
                raise errors.bad_request(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
            continue
        if ch == "\\":
            escaped = True
        elif ch in ",=":
            # Go formats the rune with %v: its code point as a number.
            raise errors.bad_request(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if escaped:
        raise errors.bad_request("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(selector: str) -> list[tuple[str, str, str]]:
    """Parse a ``fieldSelector`` query parameter into ``(field, operator, value)`` terms.

    Terms come back sorted as ``fields.ParseSelector`` sorts them; ``==`` is kept
    distinct from ``=`` but means the same.

    Raises:
        errors.APIError: 400, e.g. ``invalid selector: 'foo'; can't understand 'foo'``.
    """
    if not selector:
        return []
    terms: list[tuple[str, str, str]] = []
    for part in sorted(_split_terms(selector)):
        if not part:
            continue
        for i in range(len(part)):
            op = next((o for o in _FIELD_OPERATORS if part.startswith(o, i)), None)
            if op is not None:
                lhs, rhs = part[:i], part[i + len(op):]
                break
        else:
            raise errors.bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
        terms.append((lhs, op, _unescape_value(rhs)))
    return terms


def _meta(name: str) -> Callable[[dict[str, Any]], str]:
    def get(obj: dict[str, Any]) -> str:
        return str((obj.get("metadata") or {}).get(name) or "")
    return get


def _path(*keys: str) -> Callable[[dict[str, Any]], str]:
    def get(obj: dict[str, Any]) -> str:
        cur: Any = obj
        for k in keys:
            if not isinstance(cur, dict):
                return ""
            cur = cur.get(k)
        if cur is None:
            return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)
    return get


def _bool_path(*keys: str) -> Callable[[dict[str, Any]], str]:
    inner = _path(*keys)
    return lambda obj: inner(obj) or "false"


def _pod_ip(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    ips = status.get("podIPs") or []
    if ips and isinstance(ips[0], dict):
        return str(ips[0].get("ip") or "")
    return str(status.get("podIP") or "")


def _event_source(*fallback: str) -> Callable[[dict[str, Any]], str]:
    def get(obj: dict[str, Any]) -> str:
        source = obj.get("source") or obj.get("deprecatedSource") or {}
        comp = source.get("component") if isinstance(source, dict) else None
        return str(comp or _path(*fallback)(obj))
    return get


def _job_successful(obj: dict[str, Any]) -> str:
    n = (obj.get("status") or {}).get("succeeded") or 0
    return str(int(n)) if isinstance(n, (int, float)) else "0"


_META_FIELDS = {"metadata.name": _meta("name"), "metadata.namespace": _meta("namespace")}

_CORE_EVENT_FIELDS = {
    **_META_FIELDS,
    **{f"involvedObject.{f}": _path("involvedObject", f)
       for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": _path("reason"),
    "reportingComponent": _path("reportingComponent"),
    "source": _event_source("reportingComponent"),
    "type": _path("type"),
}

_EVENTS_V1_FIELDS = {
    **_META_FIELDS,
    **{f"regarding.{f}": _path("regarding", f)
       for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": _path("reason"),
    "reportingController": _path("reportingController"),
    "source": _event_source("reportingController"),
    "type": _path("type"),
}

#: Per (group, plural): the selectable fields and the message style for unknown ones.
#: "core" = ``field label not supported: %s``; "job" = ``field label %q not supported for Job``;
#: "default" = ``%q is not a known field selector: only "metadata.name", "metadata.namespace"``.
_FIELDS: dict[tuple[str, str], tuple[dict[str, Callable[[dict[str, Any]], str]], str]] = {
    ("", "pods"): ({
        **_META_FIELDS,
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.host": _path("spec", "nodeName"),  # old clients; the server maps it to spec.nodeName
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _bool_path("spec", "hostNetwork"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _pod_ip,
        "status.podIPs": lambda obj: "",  # accepted, but not in the selectable set
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    }, "core"),
    ("", "nodes"): ({"metadata.name": _meta("name"),
                     "spec.unschedulable": _bool_path("spec", "unschedulable")}, "core"),
    ("", "namespaces"): ({"metadata.name": _meta("name"), "status.phase": _path("status", "phase")}, "core"),
    ("", "secrets"): ({**_META_FIELDS, "type": _path("type")}, "core"),
    ("", "services"): ({**_META_FIELDS, "spec.clusterIP": _path("spec", "clusterIP"),
                        "spec.type": _path("spec", "type")}, "core"),
    ("", "replicationcontrollers"): ({**_META_FIELDS, "status.replicas": _path("status", "replicas")}, "core"),
    ("", "events"): (_CORE_EVENT_FIELDS, "core"),
    ("events.k8s.io", "events"): (_EVENTS_V1_FIELDS, "core"),
    ("batch", "jobs"): ({**_META_FIELDS, "status.successful": _job_successful}, "job"),
}


def _unsupported(rt: ResourceType, label: str, style: str) -> errors.APIError:
    if style == "core":
        return errors.bad_request(f"field label not supported: {label}")
    if style == "job":
        return errors.bad_request(f"field label {go_quote(label)} not supported for {rt.kind}")
    return errors.bad_request(
        f'{go_quote(label)} is not a known field selector: only "metadata.name", "metadata.namespace"')


def _fields_for(rt: ResourceType) -> tuple[dict[str, Callable[[dict[str, Any]], str]], str]:
    return _FIELDS.get((rt.group, rt.plural), (_META_FIELDS, "default"))


def supported_fields(rt: ResourceType) -> list[str]:
    """The field selector labels a resource type accepts."""
    return sorted(_fields_for(rt)[0])


def field_getter(rt: ResourceType, obj: dict[str, Any], field: str) -> str:
    """The string value a field selector compares for ``field`` of ``obj``.

    Raises:
        errors.APIError: 400 with the real "not supported" message for unknown fields.
    """
    getters, style = _fields_for(rt)
    get = getters.get(field)
    if get is None:
        raise _unsupported(rt, field, style)
    return get(obj)


class FieldSelector:
    """A compiled field selector: call it with an object to test a match."""

    __slots__ = ("terms", "_checks")

    def __init__(self, terms: list[tuple[str, str, str]],
                 checks: list[tuple[Callable[[dict[str, Any]], str], bool, str]]) -> None:
        self.terms = terms
        self._checks = tuple(checks)

    def __call__(self, obj: dict[str, Any]) -> bool:
        for get, negate, value in self._checks:
            if (get(obj) == value) == negate:
                return False
        return True

    matches = __call__

    def filter(self, objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [o for o in objects if self(o)]

    def __str__(self) -> str:
        return ",".join(f"{f}{'!=' if op == '!=' else '='}{v}" for f, op, v in self.terms)


def compile_field_selector(rt: ResourceType, selector: str) -> FieldSelector:
    """Parse a field selector and bind it to ``rt``'s selectable fields.

    Raises:
        errors.APIError: 400 for syntax errors or fields the kind does not support
            (``field label not supported: foo`` for core kinds, ``"foo" is not a known
            field selector: only "metadata.name", "metadata.namespace"`` for the rest).
    """
    terms = parse_field_selector(selector)
    getters, style = _fields_for(rt)
    checks: list[tuple[Callable[[dict[str, Any]], str], bool, str]] = []
    for field, op, value in terms:
        get = getters.get(field)
        if get is None:
            raise _unsupported(rt, field, style)
        checks.append((get, op == "!=", value))
    return FieldSelector(terms, checks)
