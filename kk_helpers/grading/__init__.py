"""Instructor grading: an nbgrader course from ``solutions/``, every submission autograded in its own sandbox.

The ``kk grade`` commands, each a thin layer over one module:

* ``init`` / ``release`` — :mod:`.course` (nbgrader layout, config, gradebook, roster);
* ``collect`` — :mod:`.collect` (folders, loose files, LMS zips via nbgrader's zip_collect);
* ``autograde`` — :mod:`.autograde` (the parallel runner), :mod:`.worker` (one submission, one process, one
  sandbox), :mod:`.gradebook` (the gradebook's single writer), :mod:`.procs` (nothing left running);
* ``feedback`` / ``export`` — :mod:`.feedback`;
* ``report`` — :mod:`.report` (an HTML class report with charts).

nbgrader itself is extended only through its configuration: :mod:`.preprocessors`.
"""
