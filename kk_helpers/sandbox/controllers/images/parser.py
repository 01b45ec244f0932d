"""The shell grammar: tokens, words with their expansion parts, and the command tree.

Words keep ``$var``, ``$(...)`` and ``$((...))`` parts unexpanded so that the
shell expands them when the command runs (variables change inside loops).
Tree nodes are tuples: ``("list", items)``, ``("and"|"or", left, right)``,
``("not", node)``, ``("bg", node)``, ``("pipe", parts)``, ``("group", list)``,
``("if", [(cond, body)...], else)``, ``("while"|"until", cond, body)``,
``("for", name, words, body)``, ``("cmd", assigns, words, redirections)``.
"""

from __future__ import annotations

import re
from typing import Any

class ShellSyntaxError(Exception):
    pass


_OPERATORS = ("&&", "||", ";;", ">>", "&>", "2>&1", ">&2", "1>&2", "2>", ";", "|", "&", "(", ")", ">", "<", "\n")
_RESERVED = {"if", "then", "elif", "else", "fi", "while", "until", "do", "done", "for", "in", "{", "}", "!"}


class Parser:
    """Recursive descent over tokens; words keep their expansion parts for run time."""

    def __init__(self, text: str) -> None:
        self.tokens = self._tokenize(text)
        self.pos = 0

    # -- tokens ----------------------------------------------------------------------------

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, Any]]:
        tokens: list[tuple[str, Any]] = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c in " \t\r":
                i += 1
                continue
            if c == "\\" and i + 1 < n and text[i + 1] == "\n":
                i += 2
                continue
            if c == "#":
                while i < n and text[i] != "\n":
                    i += 1
                continue
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is not None and not (op == "2>" and i > 0 and not text[i - 1].isspace()):
                tokens.append(("op", op))
                i += len(op)
                continue
            parts: list[tuple[Any, ...]] = []
            lit = ""
            while i < n and text[i] not in " \t\r\n;|&<>()":
                c = text[i]
                if c == "\\" and i + 1 < n:
                    lit += text[i + 1]
                    i += 2
                elif c == "'":
                    j = text.find("'", i + 1)
                    if j == -1:
                        raise ShellSyntaxError("unterminated quoted string")
                    if lit:
                        parts.append(("lit", lit))
                        lit = ""
                    parts.append(("lit", text[i + 1:j], True))
                    i = j + 1
                elif c == '"':
                    if lit:
                        parts.append(("lit", lit))
                        lit = ""
                    j = i + 1
                    inner = ""
                    while j < n and text[j] != '"':
                        if text[j] == "\\" and j + 1 < n and text[j + 1] in '"\\$`':
                            inner += "\\" + text[j + 1]
                            j += 2
                            continue
                        if text[j] == "$" and text.startswith("$(", j):
                            end = Parser._matching(text, j + 1)
                            inner += text[j:end + 1]
                            j = end + 1
                            continue
                        inner += text[j]
                        j += 1
                    if j >= n:
                        raise ShellSyntaxError("unterminated quoted string")
                    parts.extend((p[0], p[1], True) for p in Parser.parse_word_text(inner, in_quotes=True))
                    i = j + 1
                elif c == "$" or c == "`":
                    if lit:
                        parts.append(("lit", lit))
                        lit = ""
                    part, i = Parser._dollar(text, i)
                    parts.append(part)
                else:
                    lit += c
                    i += 1
            if lit:
                parts.append(("lit", lit))
            if not parts:
                raise ShellSyntaxError(f"unexpected character {text[i]!r}")
            tokens.append(("word", parts))
        return tokens

    @staticmethod
    def _matching(text: str, open_at: int) -> int:
        depth = 0
        i = open_at
        while i < len(text):
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
                if depth == 0:
                    return i
            elif text[i] == "'":
                i = text.find("'", i + 1)
                if i == -1:
                    break
            i += 1
        raise ShellSyntaxError("unterminated $(")

    @staticmethod
    def _dollar(text: str, i: int) -> tuple[tuple[Any, ...], int]:
        if text[i] == "`":
            j = text.find("`", i + 1)
            if j == -1:
                raise ShellSyntaxError("unterminated `")
            return ("cmd", Parser(text[i + 1:j]).parse()), j + 1
        if text.startswith("$((", i):
            depth, j = 0, i + 1
            while j < len(text):
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            return ("arith", text[i + 3:j - 1]), j + 1
        if text.startswith("$(", i):
            end = Parser._matching(text, i + 1)
            return ("cmd", Parser(text[i + 2:end]).parse()), end + 1
        if text.startswith("${", i):
            j = text.find("}", i)
            if j == -1:
                raise ShellSyntaxError("bad substitution")
            return ("var", text[i + 2:j]), j + 1
        m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*|[0-9?$#@*!])", text[i:])
        if m:
            return ("var", m.group(1)), i + m.end()
        return ("lit", "$"), i + 1

    @staticmethod
    def parse_word_text(text: str, in_quotes: bool = False) -> list[tuple[Any, ...]]:
        """Split text (from inside double quotes or ``$((...))``) into literal and expansion parts."""
        parts: list[tuple[Any, ...]] = []
        lit = ""
        i = 0
        while i < len(text):
            c = text[i]
            if c == "\\" and i + 1 < len(text) and text[i + 1] in '"\\$`':
                lit += text[i + 1]
                i += 2
            elif c in "$`" and i + 1 <= len(text):
                part, j = Parser._dollar(text, i)
                if part == ("lit", "$"):
                    lit += "$"
                else:
                    if lit:
                        parts.append(("lit", lit))
                        lit = ""
                    parts.append(part)
                i = j
            else:
                lit += c
                i += 1
        if lit or not parts:
            parts.append(("lit", lit))
        return parts

    # -- grammar ---------------------------------------------------------------------------

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _is_word(self, value: str) -> bool:
        t = self._peek()
        return t is not None and t[0] == "word" and t[1] == [("lit", value)]

    def _is_op(self, value: str) -> bool:
        t = self._peek()
        return t is not None and t[0] == "op" and t[1] == value

    def _expect_word(self, value: str) -> None:
        if not self._is_word(value):
            t = self._peek()
            got = "end of file" if t is None else (t[1] if t[0] == "op" else "".join(str(p[1]) for p in t[1]))
            raise ShellSyntaxError(f"unexpected {got!r} (expecting \"{value}\")")
        self.pos += 1

    def _skip_newlines(self) -> None:
        while self._is_op("\n") or self._is_op(";"):
            self.pos += 1

    def parse(self) -> Any:
        tree = self._list(stop=())
        if self.pos != len(self.tokens):
            t = self.tokens[self.pos]
            raise ShellSyntaxError(f"unexpected {t[1] if t[0] == 'op' else 'word'!r}")
        return tree

    def _list(self, stop: tuple[str, ...]) -> Any:
        items = []
        self._skip_newlines()
        while self._peek() is not None and not any(self._is_word(s) for s in stop) and not self._is_op(")"):
            node = self._and_or()
            if self._is_op("&"):
                self.pos += 1
                node = ("bg", node)
            items.append(node)
            if not (self._is_op(";") or self._is_op("\n") or self._is_op("&")):
                if self._peek() is not None and not any(self._is_word(s) for s in stop) and not self._is_op(")"):
                    if self.tokens[self.pos - 1][0] == "op" and self.tokens[self.pos - 1][1] == "&":
                        continue
                    raise ShellSyntaxError("unexpected word")
                break
            self._skip_newlines()
        return ("list", items)

    def _and_or(self) -> Any:
        node = self._pipeline()
        while self._is_op("&&") or self._is_op("||"):
            op = self._peek()[1]  # type: ignore[index]
            self.pos += 1
            while self._is_op("\n"):
                self.pos += 1
            right = self._pipeline()
            node = ("and" if op == "&&" else "or", node, right)
        return node

    def _pipeline(self) -> Any:
        negate = False
        if self._is_word("!"):
            negate = True
            self.pos += 1
        parts = [self._command()]
        while self._is_op("|"):
            self.pos += 1
            while self._is_op("\n"):
                self.pos += 1
            parts.append(self._command())
        node = parts[0] if len(parts) == 1 else ("pipe", parts)
        return ("not", node) if negate else node

    def _command(self) -> Any:
        if self._is_word("if"):
            self.pos += 1
            branches = []
            cond = self._list(stop=("then",))
            self._expect_word("then")
            body = self._list(stop=("elif", "else", "fi"))
            branches.append((cond, body))
            else_body = None
            while True:
                if self._is_word("elif"):
                    self.pos += 1
                    cond = self._list(stop=("then",))
                    self._expect_word("then")
                    body = self._list(stop=("elif", "else", "fi"))
                    branches.append((cond, body))
                    continue
                if self._is_word("else"):
                    self.pos += 1
                    else_body = self._list(stop=("fi",))
                self._expect_word("fi")
                break
            return ("if", branches, else_body)
        if self._is_word("while") or self._is_word("until"):
            kind = self._peek()[1][0][1]  # type: ignore[index]
            self.pos += 1
            cond = self._list(stop=("do",))
            self._expect_word("do")
            body = self._list(stop=("done",))
            self._expect_word("done")
            return (kind, cond, body)
        if self._is_word("for"):
            self.pos += 1
            t = self._peek()
            if t is None or t[0] != "word":
                raise ShellSyntaxError("bad for loop variable")
            var = "".join(str(p[1]) for p in t[1])
            self.pos += 1
            words: list[Any] = []
            if self._is_word("in"):
                self.pos += 1
                while self._peek() is not None and self._peek()[0] == "word" and not self._is_word("do"):  # type: ignore[index]
                    words.append(self._peek()[1])  # type: ignore[index]
                    self.pos += 1
            self._skip_newlines()
            self._expect_word("do")
            body = self._list(stop=("done",))
            self._expect_word("done")
            return ("for", var, words, body)
        if self._is_word("{"):
            self.pos += 1
            body = self._list(stop=("}",))
            self._expect_word("}")
            return ("group", body)
        if self._is_op("("):
            self.pos += 1
            body = self._list(stop=())
            if not self._is_op(")"):
                raise ShellSyntaxError("missing )")
            self.pos += 1
            return ("group", body)
        return self._simple()

    def _simple(self) -> Any:
        assigns: list[tuple[str, Any]] = []
        words: list[Any] = []
        redirs: list[tuple[str, Any]] = []
        while True:
            t = self._peek()
            if t is None:
                break
            if t[0] == "op":
                if t[1] in (">", ">>", "<", "&>", "2>"):
                    self.pos += 1
                    target = self._peek()
                    if target is None or target[0] != "word":
                        raise ShellSyntaxError("missing redirection target")
                    self.pos += 1
                    if t[1] != "2>":
                        redirs.append((t[1], target[1]))
                    continue
                if t[1] in ("2>&1", ">&2", "1>&2"):
                    self.pos += 1
                    continue
                break
            parts = t[1]
            if not words and parts and parts[0][0] == "lit" and len(parts[0]) == 2:
                m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", parts[0][1], re.S)
                if m:
                    value = ([("lit", m.group(2))] if m.group(2) else []) + list(parts[1:])
                    assigns.append((m.group(1), value or [("lit", "")]))
                    self.pos += 1
                    continue
            if words == [] and parts == [("lit", "}")]:
                break
            if not words and len(parts) == 1 and parts[0] == ("lit", parts[0][1]) and parts[0][1] in _RESERVED - {"!", "{"}:
                break
            words.append(parts)
            self.pos += 1
        if not words and not assigns and not redirs:
            t = self._peek()
            raise ShellSyntaxError(f"unexpected {('end of file' if t is None else t[1] if t[0] == 'op' else 'word')!r}")
        return ("cmd", assigns, words, redirs)
