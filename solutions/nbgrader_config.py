"""nbgrader configuration of the kk labs (the instructor notebooks in this folder).

``kk labs build`` copies this file into a temporary course directory (``source/<lab>/<lab>.ipynb``) to make the
student notebooks, and the lab tests use it to autograde; copy it into your own course directory to grade
with plain nbgrader. ``kk grade init`` writes a course config of its own with the same settings.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

# Wherever this file is copied, that folder is the course.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "kk"

# The labs run in the plain Python 3 kernel of the environment kk is installed in.
c.Execute.kernel_name = "python3"
# Cells wait for the cluster: rollouts, `kubectl wait`, checks polling up to $KK_CHECK_TIMEOUT (30 s) and the
# node drill (up to 90 s on kind, where a stopped node takes ~40 s to turn NotReady). A cell may take 5 min.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
c.Execute.iopub_timeout = 30
# Student cells to fill: nbgrader's stub (an unanswered cell raises NotImplementedError).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# A learner who deletes a test cell gets it back (and is graded by it).
c.OverwriteCells.add_missing_cells = True
