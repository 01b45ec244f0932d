"""What the grading forkserver imports once, so that no job pays for it: import this module only there.

:data:`.worker.PRELOAD` (nbgrader, nbconvert, SQLAlchemy, the sandbox: what a job's own process runs) and
:data:`.kernels.PRELOAD` (ipykernel and the Kubernetes client: what a job's notebook kernel, forked from the
job's process, runs). ``kk grade autograde`` names this module in ``set_forkserver_preload``; the parent
process never imports it, so it does not pay for the kernel's imports itself.
"""

from __future__ import annotations

import gc

from . import kernels, worker  # noqa: F401 - imported for their side effect: the modules they load

worker.preload()
kernels.preload()
# Every job is a fork of this process: keep the collector away from the preloaded objects, so that jobs do
# not copy (page by page) the memory they share with this process just to scan it.
gc.freeze()
