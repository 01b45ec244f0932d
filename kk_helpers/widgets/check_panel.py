"""CheckPanel: one row per task of a lab — pass/fail, expected vs found, points, and hints revealed one by one."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from .. import reprs
from ..checks.base import CheckResult, run
from ..errors import KKError
from ._base import KKWidget

if TYPE_CHECKING:
    from ..lab import Lab


class CheckPanel(KKWidget):
    """All the checks of a lab in one table, with progressive hints.

    Live, each row has a *check* button and a *hint* button (each click reveals one more hint); static, the
    table shows each task's result with every hint in a collapsed block. :meth:`refresh` re-runs checks,
    :meth:`hint` reveals the next hint of a task.

    Marks are ✓ (passed), ✗ (not yet) and ? (not checked), glyphs of ordinary fonts. CSS hooks: the box
    ``kk-check-panel`` holds ``kk-check-panel__row`` boxes whose HTML is a ``kk-check`` (``--pass``,
    ``--fail``, ``--unchecked``; ``data-task``) with ``kk-hint`` lines, and ``kk-check-panel__total``.

    Args:
        lab: the lab session.
        tasks: which tasks (default: all of the lab's).
        timeout: seconds each check may poll (default 0: one look per task).
        live: force live or static.
        **params: parameters passed to the checks (``deleted=...``).
    """

    def __init__(self, lab: Lab, tasks: list[str] | None = None, *, timeout: float = 0.0,
                 live: bool | None = None, **params: Any) -> None:
        super().__init__(live=live)
        import ipywidgets as w

        if lab.spec is None:
            raise KKError(f"lab {lab.name} has no checks")
        self.lab = lab
        self.tasks = list(tasks or lab.tasks)
        for t in self.tasks:
            lab.spec.lookup(t)
        self.timeout = timeout
        self.params = params
        self.results: dict[str, CheckResult] = {}
        self.revealed: dict[str, int] = {t: 0 for t in self.tasks}
        self._rows: dict[str, Any] = {}
        self._check_all = w.Button(description="check all", icon="check", button_style="primary")
        self._check_all.on_click(lambda _b: self.run_in_background(self.refresh, name="kk-checkpanel"))
        rows = []
        for t in self.tasks:
            html = w.HTML()
            check = w.Button(description="check", layout=w.Layout(width="6em"))
            hint = w.Button(description="hint", icon="lightbulb-o", layout=w.Layout(width="6em"))
            check.on_click(lambda _b, t=t: self.run_in_background(lambda: self.refresh(t), name="kk-check"))
            hint.on_click(lambda _b, t=t: self.hint(t))
            self._rows[t] = html
            row = w.HBox([check, hint, html])
            row.add_class("kk-check-panel__row")
            rows.append(row)
        self._total = w.HTML()
        self.root = w.VBox([self._check_all, *rows, self._total])
        self.root.add_class("kk-check-panel")
        self.refresh()

    def refresh(self, task: str | None = None) -> dict[str, CheckResult]:
        """Run one task's check (polling up to ``timeout``), or every task's; returns all results so far."""
        for t in [task] if task else self.tasks:
            self.results[t] = run(self.lab, t, timeout=self.timeout, live=False, **self.params)
            self._draw(t)
        return dict(self.results)

    def hint(self, task: str) -> str:
        """Reveal the next hint of a task; returns it (``""`` when there are no more)."""
        hints = self._hints(task)
        if self.revealed[task] >= len(hints):
            return ""
        self.revealed[task] += 1
        self._draw(task)
        return hints[self.revealed[task] - 1]

    def show_error(self, err: BaseException) -> None:
        self._total.value = f"<span class='kk-check-panel__error' style='color:#c62828'>{escape(str(err))}</span>"

    def _hints(self, task: str) -> list[str]:
        result = self.results.get(task)
        if result is not None:
            return result.all_hints
        assert self.lab.spec is not None
        return list(self.lab.spec.lookup(task).hints)

    def _row_html(self, task: str, *, all_hints: bool = False) -> str:
        assert self.lab.spec is not None
        r = self.results.get(task)
        title = self.lab.spec.lookup(task).title
        if r is None:
            state, detail, pts = None, "not checked yet", ""
        else:
            state = r.passed
            detail = ("" if r.passed else f"expected {escape(r.expected)} · found {escape(r.actual)}")
            pts = f"{r.points:g}/{r.max_points:g}"
        kind = reprs.MARKS[state][1]
        hints = self._hints(task)
        shown = hints if all_hints else hints[: self.revealed.get(task, 0)]
        hint_html = "".join(reprs.hint_html(h, i + 1 if len(hints) > 1 else None) for i, h in enumerate(shown))
        if all_hints and hints and not (r is not None and r.passed):
            hint_html = f"<details class='kk-hints'><summary>hints</summary>{hint_html}</details>"
        elif all_hints:
            hint_html = ""
        return (f"<div class='kk-check kk-check--{kind}' data-task='{escape(task, quote=True)}' "
                f"style='font-family:sans-serif;padding:2px 6px'>{reprs.mark_html(state)} <b>{escape(task)}</b> — "
                f"{escape(title)} <span class='kk-check__points' style='color:#666'>{pts}</span>"
                f"<div class='kk-check__detail' style='color:#555;font-size:0.9em'>{detail}</div>{hint_html}</div>")

    def _draw(self, task: str) -> None:
        with self._lock:
            self._rows[task].value = self._row_html(task)
            self._total.value = f"<b class='kk-check-panel__total'>{self._total_text()}</b>"

    def _total_text(self) -> str:
        earned = sum(r.points for r in self.results.values())
        possible = sum(r.max_points for r in self.results.values())
        passed = sum(1 for r in self.results.values() if r.passed)
        return f"{passed}/{len(self.tasks)} tasks passed · {earned:g}/{possible:g} points"

    def render_html(self) -> str:
        rows = "".join(f"<div style='border-bottom:1px solid #eee'>{self._row_html(t, all_hints=True)}</div>"
                       for t in self.tasks)
        return (f"<div class='kk-check-panel'><div style='font-family:sans-serif'><b>Lab {escape(self.lab.name)}</b> "
                f"checks</div>{rows}<div class='kk-check-panel__total' style='font-family:sans-serif'>"
                f"<b>{self._total_text()}</b></div></div>")

    def render_text(self) -> str:
        lines = [f"Lab {self.lab.name} checks"]
        for t in self.tasks:
            r = self.results.get(t)
            lines.append(f"  {'?' if r is None else ('✓' if r.passed else '✗')} {t}"
                         + ("" if r is None or r.passed else f": expected {r.expected}; found {r.actual}"))
        lines.append(self._total_text())
        return "\n".join(lines)
