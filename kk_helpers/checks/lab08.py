"""Lab 08 — batch: a Job that runs to 3 completions, and a CronJob."""

from __future__ import annotations

from .. import reprs
from .base import Context, LabChecks

LAB = LabChecks("08", "jobs and cronjobs")
JOB = "pi"
COMPLETIONS = 3
CRONJOB = "tick"


@LAB.task("job", f"job {JOB} completed {COMPLETIONS} times", points=4,
          hints=[f"lab.cluster.batch.create_namespaced_job(lab.namespace, body), with completions: {COMPLETIONS} "
                 "in the body's spec",
                 f"or YAML: kubectl create job {JOB} --image=busybox:1.37 --dry-run=client -o yaml -- sh -c "
                 f"'echo 3.14159' > {JOB}.yaml, add completions: {COMPLETIONS} under spec, kubectl apply -f {JOB}.yaml",
                 f"kubectl get job {JOB} -w"])
def job(ctx: Context) -> None:
    name = ctx.param("name", JOB)
    want = int(ctx.param("completions", COMPLETIONS))
    j = ctx.get("job", name)
    if not ctx.found("exists", j, f"job {name}"):
        return
    assert j is not None
    spec_completions = (j.get("spec") or {}).get("completions", 1)
    ctx.require("completions", spec_completions == want, f"completions: {want}", f"completions: {spec_completions}",
                hint="completions cannot change after creation: delete the job and create it again")
    status = reprs.job_status(j)
    ctx.require("not failed", status != "Failed", "no failure", status, hint=f"kubectl logs job/{name}")
    ctx.part("complete", status == "Complete", f"Complete with {want} succeeded pods",
             f"{status}, {reprs.job_completions(j)}", hint=f"kubectl get pods -l job-name={name}")


@LAB.task("cronjob", f"cronjob {CRONJOB} exists with a schedule", points=3,
          hints=[f"kubectl create cronjob {CRONJOB} --image=busybox --schedule='*/1 * * * *' -- date"])
def cronjob(ctx: Context) -> None:
    name = ctx.param("name", CRONJOB)
    cj = ctx.get("cronjob", name)
    if not ctx.found("exists", cj, f"cronjob {name}"):
        return
    assert cj is not None
    schedule = (cj.get("spec") or {}).get("schedule", "")
    want = ctx.param("schedule")
    ctx.require("schedule", bool(schedule) and (want is None or schedule == want),
                f"schedule {want}" if want else "a schedule", schedule or "none")


@LAB.task("cronjob-ran", f"cronjob {CRONJOB} has started at least one job", points=3,
          hints=["a */1 schedule starts a job at the next full minute: wait, then check again"])
def cronjob_ran(ctx: Context) -> None:
    name = ctx.param("name", CRONJOB)
    cj = ctx.get("cronjob", name)
    if not ctx.found("exists", cj, f"cronjob {name}"):
        return
    assert cj is not None
    uid = reprs.meta(cj).get("uid")
    jobs = [j for j in ctx.list("jobs", keep=False) if (reprs.controller_of(j) or {}).get("uid") == uid]
    for j in jobs:
        ctx.remember(j)
    last = (cj.get("status") or {}).get("lastScheduleTime")
    ctx.part("ran", bool(jobs) or bool(last), "at least one job started by it",
             f"{len(jobs)} job(s)" + (f", last scheduled {last}" if last else ""))
