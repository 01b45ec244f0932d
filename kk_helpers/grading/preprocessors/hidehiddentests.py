"""``HideHiddenTests``: feedback shows what a hidden test said, never its code.

nbgrader removes hidden test regions from the released notebook (``ClearHiddenTests``), but autograding puts
the instructor's full test cells back (``OverwriteCells``), and ``generate_feedback`` renders that autograded
notebook as is: the hidden code would appear in the feedback, in the cell's source and in the IPython
traceback's context lines.

This preprocessor runs in ``GenerateFeedback.preprocessors`` after ``GetGrades``. In every cell holding a hidden
test region it removes the region (leaving a ``# hidden tests`` line), and cuts each error's traceback down to
its last line, ``ename: evalue`` — the check's own sentence (expected, actual, hint) — which is what the
learner needs.
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

#: The line left where a hidden test region was.
PLACEHOLDER = "# (hidden tests ran here; their messages are below)"


class HideHiddenTests(ClearHiddenTests):
    """Strip hidden test code from feedback; keep only the messages of the errors it raised."""

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int) -> tuple[NotebookNode, Any]:
        """Remove the hidden region of one cell and shorten its tracebacks."""
        if cell.cell_type != "code" or self.begin_test_delimeter not in cell.source:
            return cell, resources
        self._remove_hidden_test_region(cell)
        cell.source = (cell.source.rstrip("\n") + "\n" + PLACEHOLDER).lstrip("\n")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"\x1b[0;31m{output.get('ename', 'Error')}\x1b[0m: {output.get('evalue', '')}"]
        return cell, resources
