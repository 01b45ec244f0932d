"""The ``kk`` command line: thin commands over keyword-only library functions.

Every command turns a :class:`kk_helpers.errors.KKError` into one red sentence
with the fix and exit code 1; nothing prints a traceback at a learner.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from .console import console, out
from .console import fail as _fail
from .errors import KKError

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="kk: Kubernetes labs in JupyterLab — clusters, labs and grading.")
sandbox_app = typer.Typer(no_args_is_help=True, help="The embedded sandbox cluster.")
node_app = typer.Typer(no_args_is_help=True, help="Failure drills: stop and start sandbox nodes.")
sandbox_app.add_typer(node_app, name="node")
app.add_typer(sandbox_app, name="sandbox")


class Backend(str, Enum):
    auto = "auto"
    sandbox = "sandbox"
    kind = "kind"


@app.command()
def up(
    backend: Backend = typer.Option(Backend.auto, help="auto picks kind when kind and a running Docker are present, else the sandbox."),
    name: str = typer.Option("kk", help="Cluster name (kind)."),
    workers: int = typer.Option(2, min=0, max=50, help="Worker nodes (sandbox)."),
    mode: str = typer.Option("realistic", help="Sandbox timing: realistic (1-3 s per pod) or fast."),
) -> None:
    """Start a cluster and point kubectl at it. Idempotent."""
    from . import backends

    try:
        result = backends.up(backend=backend.value, name=name, workers=workers, mode=mode, console=console)
    except KKError as err:
        _fail(err)
    else:
        out.print(result.context)


@app.command()
def down(
    backend: Backend = typer.Option(Backend.auto, help="Which cluster to stop; auto stops whatever kk started."),
    name: str = typer.Option("kk", help="Cluster name (kind)."),
) -> None:
    """Stop the cluster kk started and remove its kubeconfig context."""
    from . import backends

    try:
        for line in backends.down(backend=backend.value, name=name):
            console.print(line)
    except KKError as err:
        _fail(err)


@app.command()
def status() -> None:
    """Say what runs where."""
    from . import backends

    for line in backends.status_lines():
        out.print(line)


@sandbox_app.command("serve")
def sandbox_serve(
    port: int = typer.Option(0, help="Port on 127.0.0.1; 0 picks a free one."),
    state_dir: Optional[Path] = typer.Option(None, help="Database and token directory (default: $KK_HOME/sandbox)."),
    workers: int = typer.Option(2, min=0, max=50, help="Worker nodes."),
    mode: str = typer.Option("realistic", help="realistic or fast."),
    kubeconfig: bool = typer.Option(False, help="Also merge the kk-sandbox context into the kubeconfig."),
) -> None:
    """Run the sandbox in the foreground (debugging)."""
    from .sandbox import daemon

    try:
        daemon.serve_foreground(port=port, state_dir=state_dir, workers=workers, mode=mode,
                                write_kubeconfig=kubeconfig)
    except KKError as err:
        _fail(err)


@node_app.command("stop")
def node_stop(node: str) -> None:
    """Make NODE NotReady: its pods are evicted and rescheduled elsewhere."""
    from .sandbox import daemon

    try:
        console.print(daemon.set_node_running(node, running=False))
    except KKError as err:
        _fail(err)


@node_app.command("start")
def node_start(node: str) -> None:
    """Bring NODE back to Ready."""
    from .sandbox import daemon

    try:
        console.print(daemon.set_node_running(node, running=True))
    except KKError as err:
        _fail(err)


@app.command()
def doctor(
    name: str = typer.Option("kk", help="kind cluster name (its published NodePorts count as expected)."),
) -> None:
    """Check this machine for the kind path; exits 1 when something blocks it."""
    from . import doctor as doctor_checks

    checks = doctor_checks.run(name=name)
    doctor_checks.render(checks, out)
    if doctor_checks.blocking(checks):
        raise typer.Exit(1)


images_app = typer.Typer(no_args_is_help=True, help="Container images the labs use.")
app.add_typer(images_app, name="images")


@images_app.command("preload")
def images_preload(
    name: str = typer.Option("kk", help="kind cluster name."),
    image: Optional[list[str]] = typer.Option(None, "--image", help="Only this image (repeatable); default: all lab images."),
) -> None:
    """Pull the lab images and load them into the kind cluster, so labs start without a registry."""
    from . import kind

    try:
        for line in kind.preload_images(image or kind.LAB_IMAGES, name=name, console=console):
            console.print(line)
    except KKError as err:
        _fail(err)


@app.command()
def lab(
    backend: Backend = typer.Option(Backend.auto, help="Cluster backend; auto picks kind when Docker runs, else the sandbox."),
    labs_dir: Path = typer.Option(Path("labs"), help="Folder JupyterLab opens."),
    port: int = typer.Option(8888, help="JupyterLab port (the next free one if taken)."),
    browser: bool = typer.Option(False, help="Open a web browser."),
    stop_cluster: bool = typer.Option(False, help="Stop the cluster when JupyterLab exits (default: keep it)."),
) -> None:
    """Start a cluster and JupyterLab on the labs; Ctrl-C stops JupyterLab."""
    from . import launch

    try:
        code = launch.run_lab(backend=backend.value, labs_dir=labs_dir, port=port, open_browser=browser,
                              stop_cluster=stop_cluster, console=console)
    except KKError as err:
        _fail(err)
    else:
        raise typer.Exit(code)


from .grading.cli import grade_app  # noqa: E402 - the instructor's `kk grade` commands (kk_helpers/grading/cli.py)

app.add_typer(grade_app, name="grade")


labs_app = typer.Typer(no_args_is_help=True, help="Build and check the lab notebooks (instructors, CI).")
app.add_typer(labs_app, name="labs")


@labs_app.command("build")
def labs_build(
    solutions: Path = typer.Option(Path("solutions"), help="Instructor notebooks, their _source/*.md and nbgrader_config.py."),
    labs: Path = typer.Option(Path("labs"), help="Where the student notebooks go."),
    lab_name: Optional[list[str]] = typer.Option(None, "--lab", help="Only this lab, e.g. 03-scaling (repeatable)."),
) -> None:
    """Make solutions/*.ipynb from solutions/_source/*.md, then labs/*.ipynb with nbgrader."""
    from . import labs_build as lb

    try:
        result = lb.build(solutions, labs, only=lab_name or None)
    except KKError as err:
        _fail(err)
    else:
        for path in result.changed:
            out.print(f"wrote {path}")
        out.print(f"{len(result.solutions)} instructor and {len(result.labs)} student notebooks, "
                  f"{len(result.changed)} changed")


@labs_app.command("check")
def labs_check(
    solutions: Path = typer.Option(Path("solutions"), help="Instructor notebooks and their sources."),
    labs: Path = typer.Option(Path("labs"), help="The committed student notebooks."),
) -> None:
    """Exit 1 when labs/ or solutions/ is stale, or a student notebook leaks a solution, hidden test or output."""
    from . import labs_build as lb

    try:
        found = lb.problems(solutions, labs)
    except KKError as err:
        _fail(err)
    else:
        for line in found:
            console.print(f"[red]✗[/] {line}")
        if found:
            raise typer.Exit(1)
        out.print("labs are up to date and leak nothing")


def main() -> None:  # pragma: no cover - entry point
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
