"""Benchmark ``kk grade autograde``: submissions per minute, serial vs parallel, and what 100 learners cost.

A course is built in a temporary directory from the instructor notebooks. When the real core labs exist
(``solutions/01-*.ipynb`` .. ``solutions/05-*.ipynb``: the five of "100 learners x 5 core labs") they are
used, each solution handed in as a perfect submission by ``--size`` learners; otherwise the synthetic lab of
the tests (tests/fixtures/grading). Every submission is autograded for real — its own sandbox daemon, kernel
and gradebook copy — once per ``--jobs`` value, from the same starting state.

Printed per run: wall time, submissions per minute, the CPU seconds one submission costs (its grading
process, kernel and sandbox, measured by the workers themselves, so other load on the machine does not
inflate it; split into the kernel with the programs it ran, nbgrader, and the sandbox), and the load average
(this machine may be shared). Then the extrapolation to "100 learners x the five core labs" (500
submissions): at the measured rate, and CPU-bound on an otherwise idle machine with this many cores (CPU
seconds x 500 / cores).

Run:  .venv/bin/python benchmarks/bench_grading.py [--size 10] [--jobs 1,2] [--labs 01-pods,...] [--synthetic]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
SYNTHETIC = ROOT / "tests" / "fixtures" / "grading" / "solutions"
CORE = ("01", "02", "03", "04", "05")
TARGET_SUBMISSIONS = 500  # 100 learners x the five core labs
TARGET_MINUTES = 10.0


def core_labs() -> list[Path]:
    """The real core lab solutions 01..05 present in solutions/."""
    return sorted(p for p in SOLUTIONS.glob("*.ipynb") if p.name[:2] in CORE)


def build(base: Path, notebooks: list[Path], size: int) -> Path:
    """A released course with ``size`` perfect submissions (the solution itself) of every lab."""
    from kk_helpers.grading.course import init_course, release

    solutions = base / "solutions"
    solutions.mkdir(parents=True)
    for nb in notebooks:
        shutil.copyfile(nb, solutions / nb.name)
    course = init_course(base / "course", solutions).course
    release(course)
    for nb in notebooks:
        lab = nb.stem
        for i in range(size):
            dest = course.directory("submitted") / f"learner{i:03d}" / lab
            dest.mkdir(parents=True)
            shutil.copyfile(course.directory("source") / lab / f"{lab}.ipynb", dest / f"{lab}.ipynb")
    return course.root


def run(template: Path, work: Path, jobs: int, launcher: str) -> dict[str, float]:
    """Autograde a fresh copy of the course with ``jobs`` parallel submissions; return the numbers."""
    from kk_helpers.grading.autograde import GRADED, autograde
    from kk_helpers.grading.course import Course

    root = work / f"jobs-{jobs}-{launcher}"
    shutil.copytree(template, root)
    course = Course.open(root)
    load0 = os.getloadavg()[0]
    parent0, server0 = _self_cpu(), _forkserver_cpu()
    t0 = time.monotonic()
    report = autograde(course, jobs=jobs, launcher=launcher, work_dir=work)
    wall = time.monotonic() - t0
    parent, server = _self_cpu() - parent0, _forkserver_cpu() - server0
    n = len(report.results)
    bad = [f"{r.student}/{r.assignment}: {r.status} {r.reason}" for r in report.results if r.status != GRADED]
    if bad:
        print("  not graded cleanly:", *bad[:5], sep="\n    ")
    # Full marks on everything the autograder can score (written answers wait for manual grading).
    full = sum(1 for r in report.results
               if r.score is not None and (r.score == r.max_score or "needs manual grading" in r.notes))
    return {"jobs": jobs, "n": n, "wall": wall, "per_min": 60 * n / wall,
            "cpu": statistics.fmean(r.cpu_seconds for r in report.results),
            **{f"cpu_{part}": statistics.fmean(getattr(r, "cpu_parts", {}).get(part, 0.0) for r in report.results)
               for part in ("kernel", "worker", "sandbox")},
            "parent": parent, "forkserver": server,
            "cpu_all": statistics.fmean(r.cpu_seconds for r in report.results) + (parent + server) / n,
            "job_wall": statistics.fmean(r.seconds for r in report.results),
            "load": (load0 + os.getloadavg()[0]) / 2, "stray": len(report.stray), "full": full}


def _self_cpu() -> float:
    """CPU seconds of this process (all its threads): the parent of ``kk grade autograde``."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def _forkserver_cpu() -> float:
    """CPU seconds the multiprocessing forkserver has used itself (preloading, forking workers), 0 if none."""
    from multiprocessing import forkserver

    from kk_helpers.grading.procs import cpu_seconds

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)  # noqa: SLF001 - no public accessor
    return cpu_seconds(pid) if pid else 0.0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=10, help="submissions per lab (default 10)")
    p.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to compare (default 1,2)")
    p.add_argument("--labs", default="", help="comma-separated lab names (default: the core labs 01..05)")
    p.add_argument("--synthetic", action="store_true", help="use the synthetic test lab even if real labs exist")
    p.add_argument("--launcher", default="auto", help="worker launcher: auto, forkserver or subprocess")
    p.add_argument("--keep", action="store_true", help="keep the temporary courses")
    args = p.parse_args(argv)

    notebooks = [] if args.synthetic else core_labs()
    if args.labs:
        wanted = set(args.labs.split(","))
        notebooks = [nb for nb in notebooks if nb.stem in wanted]
    kind = "real core labs" if notebooks else "synthetic lab"
    if not notebooks:
        notebooks = sorted(SYNTHETIC.glob("*.ipynb"))
    cores = len(os.sched_getaffinity(0))
    print(f"kk grade benchmark: {kind} ({', '.join(nb.stem for nb in notebooks)}), {args.size} submissions per lab, "
          f"{cores} cores, Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    base = Path(tempfile.mkdtemp(prefix="kk-bench-grading-"))
    try:
        t0 = time.monotonic()
        template = build(base / "template", notebooks, args.size)
        print(f"course built and released in {time.monotonic() - t0:.1f} s")
        results = []
        for jobs in [int(j) for j in args.jobs.split(",")]:
            r = run(template, base, jobs, args.launcher)
            results.append(r)
            print(f"--jobs {jobs}: {r['n']} submissions in {r['wall']:.1f} s = {r['per_min']:.1f}/min; "
                  f"per submission {r['job_wall']:.1f} s wall, {r['cpu']:.2f} CPU s (kernel {r['cpu_kernel']:.2f}, "
                  f"nbgrader {r['cpu_worker']:.2f}, sandbox {r['cpu_sandbox']:.2f}); with the parent process "
                  f"({r['parent']:.1f} s) and the forkserver ({r['forkserver']:.1f} s) {r['cpu_all']:.2f} CPU s; "
                  f"full autograded marks "
                  f"{r['full']}/{r['n']}; "
                  f"load avg {r['load']:.1f}; stray processes {r['stray']}")
        print(f"\nextrapolated to {TARGET_SUBMISSIONS} submissions (100 learners x 5 core labs):")
        for r in results:
            measured = TARGET_SUBMISSIONS / r["per_min"]
            cpu_bound = TARGET_SUBMISSIONS * r["cpu_all"] / cores / 60
            verdict = "meets" if measured < TARGET_MINUTES else "misses"
            print(f"  --jobs {r['jobs']}: {measured:.1f} min at the measured rate ({verdict} the "
                  f"{TARGET_MINUTES:.0f}-minute target); {cpu_bound:.1f} min if CPU-bound on an idle {cores}-core "
                  f"machine")
        if len(results) > 1:
            print(f"speed-up of --jobs {results[-1]['jobs']} over --jobs {results[0]['jobs']}: "
                  f"{results[-1]['per_min'] / results[0]['per_min']:.2f}x")
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
