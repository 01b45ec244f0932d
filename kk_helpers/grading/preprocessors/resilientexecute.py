"""``ResilientExecute``: nbgrader's Execute, but a dead or hung kernel is graded instead of aborting.

nbgrader's :class:`~nbgrader.preprocessors.Execute` lets cells raise (``allow_errors``) and interrupts a cell
that exceeds ``Execute.timeout``, but two things still abort the whole notebook — nbgrader then removes the
autograded copy and the learner gets no score and no feedback:

* the kernel dies (``os._exit``, a segfault, the OOM killer): nbclient raises ``DeadKernelError``;
* the kernel ignores the interrupt (a loop that catches ``KeyboardInterrupt``): every later cell waits its full
  timeout, and the submission's wall-clock limit kills everything.

(``Execute.execute_retries`` is declared by nbgrader 0.9.6 but never read.)

Here the cell where that happened gets an error output saying so, every later code cell gets a ``NotExecuted``
error output, and the kernel is shut down at once. nbgrader's usual rules then apply: a test cell with an error
output scores 0, the cells before keep their points — zeros exactly where due.
"""

from __future__ import annotations

from queue import Empty
from time import monotonic
from typing import Any

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

#: ``ename`` of the error output put on cells that were not run because the kernel was gone.
NOT_EXECUTED = "NotExecuted"
#: ``ename`` of the error output put on the cell during which the kernel died.
KERNEL_DIED = "DeadKernelError"
#: ``ename`` of the error output put on the cell after which the kernel stopped answering.
KERNEL_HUNG = "UnresponsiveKernelError"
#: ``ename`` nbgrader gives a cell that exceeded ``Execute.timeout``.
CELL_TIMEOUT = "CellTimeoutError"


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An ``error`` output with a one-line traceback."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def has_error(cell: NotebookNode, ename: str) -> bool:
    """Whether ``cell`` has an error output named ``ename``."""
    return any(o.get("output_type") == "error" and o.get("ename") == ename for o in cell.get("outputs", []))


class ResilientExecute(Execute):
    """Execute every cell; grade a dead or unresponsive kernel as zeros from that cell on."""

    unresponsive_grace = Integer(
        10,
        help="Seconds the kernel gets, after a cell timed out and was interrupted, to answer a no-op request "
             "(at most Execute.timeout). If it does not, it is declared hung, shut down, and the remaining cells "
             "are not run.",
    ).tag(config=True)

    _gone: str = ""

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> tuple[NotebookNode, Any]:
        """Execute the notebook (see :class:`~nbgrader.preprocessors.Execute`)."""
        self._gone = ""
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> tuple[NotebookNode, Any]:
        """Run one cell, or mark it as not run when the kernel is already gone."""
        if self._gone:
            if cell.cell_type == "code" and cell.source.strip():
                cell.outputs = [error_output(NOT_EXECUTED, f"this cell was not run: {self._gone}")]
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.log.error("The kernel died while running cell %d; the remaining cells are not run", index)
            self._gone = "the kernel died in an earlier cell"
            cell.outputs.append(error_output(
                KERNEL_DIED, "the kernel died while this cell ran (os._exit, a crash, or out of memory)"))
            return cell, resources
        except CellTimeoutError as err:  # IOPub output kept coming after the reply (an output flood)
            self.log.error("Cell %d: %s", index, str(err).splitlines()[0] if str(err) else "IOPub timeout")
            cell.outputs.append(error_output(CELL_TIMEOUT, "the cell's output did not finish in time"))
        if has_error(cell, CELL_TIMEOUT) and not self._kernel_answers():
            self.log.error("The kernel did not recover from the timeout in cell %d; shutting it down", index)
            self._gone = "the kernel stopped answering in an earlier cell"
            self.shutdown_kernel = "immediate"
            cell.outputs.append(error_output(
                KERNEL_HUNG, f"the kernel ignored the interrupt and did not answer within {self.grace:.0f} s"))
        return cell, resources

    @property
    def grace(self) -> float:
        """:attr:`unresponsive_grace`, but never longer than the cell timeout."""
        return float(min(self.unresponsive_grace, self.timeout)) if self.timeout else float(self.unresponsive_grace)

    def _kernel_answers(self) -> bool:
        """Whether the kernel answers a silent no-op within :attr:`unresponsive_grace` seconds."""
        return bool(run_sync(self._async_kernel_answers)())

    async def _async_kernel_answers(self) -> bool:
        assert self.kc is not None
        msg_id = self.kc.execute("", silent=True, store_history=False)
        deadline = monotonic() + self.grace
        while (left := deadline - monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False
