"""Do Jobs and CronJobs run in the sandbox as the real Job and CronJob controllers run them?

Jobs through the official client and kubectl: completions with bounded parallelism
(watched pod by pod), the backoff limit, the active deadline, suspend and resume,
Indexed completion, TTL after finished, and the exact status, conditions, labels,
finalizers and events. CronJobs in a sandbox of their own whose controller clock the
test moves forward (``manager.clock``), so a ``* * * * *`` schedule fires without
waiting a minute: job names and annotations, history limits, Forbid and Replace,
``@every`` and descriptor schedules in a time zone, and the schedules the API rejects.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
from waiting import wait_until
from kubernetes import client, config, watch

from kk_helpers.sandbox.app import SandboxThread

JOB_NAME = "batch.kubernetes.io/job-name"




def batch(api: Any) -> client.BatchV1Api:
    return client.BatchV1Api(api)


def core(api: Any) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def make_job(name: str, command: str, *, completions: int | None = 1, parallelism: int | None = 1,
             backoff_limit: int | None = None, restart: str = "Never", **extra: Any) -> dict:
    spec: dict[str, Any] = {"template": {"spec": {"restartPolicy": restart, "containers": [
        {"name": "work", "image": "busybox:1.36", "command": ["sh", "-c", command]}]}}, **extra}
    if completions is not None:
        spec["completions"] = completions
    if parallelism is not None:
        spec["parallelism"] = parallelism
    if backoff_limit is not None:
        spec["backoffLimit"] = backoff_limit
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}


def conditions(job: client.V1Job) -> list[tuple[str, str, str, str]]:
    return [(c.type, c.status, c.reason or "", c.message or "") for c in job.status.conditions or []]


def finished(api: Any, ns: str, name: str) -> client.V1Job | None:
    job = batch(api).read_namespaced_job(name, ns)
    return job if any(t in ("Complete", "Failed") and s == "True" for t, s, _, _ in conditions(job)) else None


def events(api: Any, ns: str, name: str) -> list[tuple[str, str]]:
    evs = core(api).list_namespaced_event(ns, field_selector=f"involvedObject.name={name}").items
    return [(e.reason, e.message) for e in sorted(evs, key=lambda e: (e.first_timestamp or 0, e.metadata.name))]


class ActiveWatch:
    """Counts, after every pod event, the pods of a Job that are neither finished nor terminating."""

    def __init__(self, api: Any, ns: str, selector: str) -> None:
        self.api, self.ns, self.selector = api, ns, selector
        self.max_active = 0
        self.error: BaseException | None = None
        self.started = threading.Event()
        self._stop = threading.Event()
        self._pods: dict[str, client.V1Pod] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "ActiveWatch":
        self._thread.start()
        assert self.started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        assert self.error is None, self.error

    def _run(self) -> None:
        try:
            v1 = core(self.api)
            rv = v1.list_namespaced_pod(self.ns, label_selector=self.selector).metadata.resource_version
            self.started.set()
            while not self._stop.is_set():
                for ev in watch.Watch().stream(v1.list_namespaced_pod, self.ns, label_selector=self.selector,
                                               resource_version=rv, timeout_seconds=1):
                    pod = ev["object"]
                    rv = pod.metadata.resource_version
                    if ev["type"] == "DELETED":
                        self._pods.pop(pod.metadata.name, None)
                    else:
                        self._pods[pod.metadata.name] = pod
                    active = sum(1 for p in self._pods.values() if p.metadata.deletion_timestamp is None
                                 and p.status.phase not in ("Succeeded", "Failed"))
                    self.max_active = max(self.max_active, active)
        except BaseException as err:
            self.error = err
            self.started.set()


# -- Jobs --------------------------------------------------------------------------------------


def test_completions_with_parallelism(api, namespace) -> None:
    """Does a Job with completions=5, parallelism=2 complete with never more than 2 pods active at once?"""
    ns = namespace
    with ActiveWatch(api, ns, f"{JOB_NAME}=five") as aw:
        created = batch(api).create_namespaced_job(ns, make_job("five", "echo done; sleep 0.5", completions=5,
                                                                parallelism=2))
        job = wait_until(lambda: finished(api, ns, "five"), what="the job to finish")
        time.sleep(0.1)
    assert aw.max_active == 2
    s = job.status
    assert (s.succeeded, s.failed, s.active, s.ready, s.terminating) == (5, None, None, 0, 0)
    assert s.start_time is not None and s.completion_time is not None and s.completion_time >= s.start_time
    assert s.uncounted_terminated_pods.succeeded is None and s.uncounted_terminated_pods.failed is None
    assert conditions(job) == [
        ("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
        ("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
    ]
    pods = core(api).list_namespaced_pod(ns, label_selector=f"{JOB_NAME}=five").items
    assert len(pods) == 5 and all(p.status.phase == "Succeeded" for p in pods)
    uid = created.metadata.uid
    for p in pods:
        assert p.metadata.name.startswith("five-") and len(p.metadata.name) == len("five-") + 5
        assert p.metadata.labels[JOB_NAME] == "five" and p.metadata.labels["job-name"] == "five"
        assert p.metadata.labels["batch.kubernetes.io/controller-uid"] == uid == p.metadata.labels["controller-uid"]
        assert not p.metadata.finalizers  # batch.kubernetes.io/job-tracking removed once counted
        ref = p.metadata.owner_references[0]
        assert (ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == ("Job", "five", uid,
                                                                                            True, True)
    evs = events(api, ns, "five")
    assert sorted(m for r, m in evs if r == "SuccessfulCreate") == sorted(f"Created pod: {p.metadata.name}"
                                                                          for p in pods)
    assert evs[-1] == ("Completed", "Job completed")


def test_pods_hold_the_tracking_finalizer_while_running(api, namespace) -> None:
    """Does a running Job pod carry batch.kubernetes.io/job-tracking, and lose it once counted?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, make_job("track", "sleep 1000"))
    pod = wait_until(lambda: core(api).list_namespaced_pod(ns, label_selector=f"{JOB_NAME}=track").items)[0]
    assert pod.metadata.finalizers == ["batch.kubernetes.io/job-tracking"]
    wait_until(lambda: (batch(api).read_namespaced_job("track", ns).status.active or 0) == 1)
    core(api).delete_namespaced_pod(pod.metadata.name, ns)
    # a deleted pod counts as failed and is replaced (podReplacementPolicy TerminatingOrFailed)
    wait_until(lambda: (batch(api).read_namespaced_job("track", ns).status.failed or 0) == 1)
    wait_until(lambda: any(p.metadata.name != pod.metadata.name and p.metadata.deletion_timestamp is None
                           for p in core(api).list_namespaced_pod(ns, label_selector=f"{JOB_NAME}=track").items))


def test_failing_job_stops_at_backoff_limit(api, namespace) -> None:
    """Does a Job whose pods exit 1 fail after backoffLimit+1 failures with BackoffLimitExceeded?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, make_job("boom", "echo oops; exit 1", backoff_limit=2))
    job = wait_until(lambda: finished(api, ns, "boom"), timeout=30, what="the job to fail")
    msg = "Job has reached the specified backoff limit"
    assert conditions(job) == [("FailureTarget", "True", "BackoffLimitExceeded", msg),
                               ("Failed", "True", "BackoffLimitExceeded", msg)]
    assert (job.status.failed, job.status.succeeded, job.status.active) == (3, None, None)
    assert job.status.completion_time is None
    pods = core(api).list_namespaced_pod(ns, label_selector=f"{JOB_NAME}=boom").items
    assert len(pods) == 3 and all(p.status.phase == "Failed" for p in pods)
    assert ("BackoffLimitExceeded", msg) in events(api, ns, "boom")
    time.sleep(0.5)
    assert len(core(api).list_namespaced_pod(ns, label_selector=f"{JOB_NAME}=boom").items) == 3


def test_active_deadline(api, namespace) -> None:
    """Does activeDeadlineSeconds fail the Job with DeadlineExceeded and remove its running pod?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, make_job("slow", "sleep 1000", activeDeadlineSeconds=1))
    job = wait_until(lambda: finished(api, ns, "slow"), timeout=15)
    msg = "Job was active longer than specified deadline"
    assert conditions(job)[-1] == ("Failed", "True", "DeadlineExceeded", msg)
    # The pod was made (on a loaded machine it may be gone before a poll could see it) and then removed.
    assert ("DeadlineExceeded", msg) in events(api, ns, "slow")
    assert any(reason == "SuccessfulCreate" for reason, _ in events(api, ns, "slow"))
    wait_until(lambda: not [p for p in core(api).list_namespaced_pod(ns, label_selector=f"{JOB_NAME}=slow").items
                            if p.status.phase not in ("Succeeded", "Failed")], what="the pod to be gone")


def test_suspend_and_resume(api, namespace) -> None:
    """Does a suspended Job run no pods and say Suspended, then run and complete once resumed?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, make_job("later", "echo hi", suspend=True))
    job = wait_until(lambda: (lambda j: j if j.status.conditions else None)(
        batch(api).read_namespaced_job("later", ns)))
    assert conditions(job) == [("Suspended", "True", "JobSuspended", "Job suspended")]
    assert job.status.start_time is None
    assert not core(api).list_namespaced_pod(ns).items
    batch(api).patch_namespaced_job("later", ns, {"spec": {"suspend": False}})
    job = wait_until(lambda: finished(api, ns, "later"))
    assert conditions(job)[0] == ("Suspended", "False", "JobResumed", "Job resumed")
    assert ("Resumed", "Job resumed") in events(api, ns, "later")


def test_indexed_job(api, namespace) -> None:
    """Does an Indexed Job run one pod per index, named and annotated with it, and report completedIndexes?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, make_job("idx", "echo $JOB_COMPLETION_INDEX", completions=3, parallelism=3,
                                                  completionMode="Indexed"))
    job = wait_until(lambda: finished(api, ns, "idx"))
    assert job.status.completed_indexes == "0-2" and job.status.succeeded == 3
    pods = core(api).list_namespaced_pod(ns, label_selector=f"{JOB_NAME}=idx").items
    indexes = sorted(p.metadata.annotations["batch.kubernetes.io/job-completion-index"] for p in pods)
    assert indexes == ["0", "1", "2"]
    for p in pods:
        ix = p.metadata.annotations["batch.kubernetes.io/job-completion-index"]
        assert p.metadata.name.startswith(f"idx-{ix}-") and p.spec.hostname == f"idx-{ix}"
        assert p.metadata.labels["batch.kubernetes.io/job-completion-index"] == ix


def test_ttl_after_finished_deletes_job_and_pods(api, namespace) -> None:
    """Is a finished Job with ttlSecondsAfterFinished=0 deleted together with its pods?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, make_job("brief", "echo bye", ttlSecondsAfterFinished=0))
    wait_until(lambda: not batch(api).list_namespaced_job(ns).items, what="the job to be deleted")
    wait_until(lambda: not core(api).list_namespaced_pod(ns).items, what="its pods to be deleted")


@pytest.mark.kubectl
def test_kubectl_create_job_and_wait(pinned_kubectl, api) -> None:
    """Do `kubectl create job` and `kubectl wait --for=condition=complete` work?"""
    k = pinned_kubectl
    assert k("create", "job", "hello", "--image=busybox:1.36", "--", "echo", "hello").stdout.strip() == \
        "job.batch/hello created"
    out = k("wait", "--for=condition=complete", "job/hello", "--timeout=30s").stdout
    assert out.strip() == "job.batch/hello condition met"
    job = batch(api).read_namespaced_job("hello", k.namespace)
    assert job.status.succeeded == 1


# -- CronJobs ----------------------------------------------------------------------------------


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[SandboxThread, Any, list[float]]]:
    """A sandbox of its own whose controllers read a clock the test moves: (sandbox, api client, offset)."""
    offset = [0.0]
    with SandboxThread(tmp_path, mode="fast") as sb:
        assert sb.sandbox is not None and sb.sandbox.manager is not None
        sb.sandbox.manager.clock = lambda: time.time() + offset[0]
        api = config.new_client_from_config(str(sb.kubeconfig_path))
        try:
            yield sb, api, offset
        finally:
            api.close()


def advance(sb: SandboxThread, offset: list[float], seconds: float, cronjob: str, ns: str = "default") -> None:
    """Move the controllers' clock forward and let the CronJob controller look again."""
    offset[0] += seconds
    assert sb.sandbox is not None
    ctl = next(c for c in sb.sandbox.manager.controllers if c.name == "cronjob-controller")
    sb.call(lambda: ctl.enqueue((ns, cronjob)))


def make_cronjob(name: str, command: str = "echo tick", **spec: Any) -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"metadata": {"labels": {"from": name}}, "spec": {
                "template": {"spec": {"restartPolicy": "OnFailure", "containers": [
                    {"name": "work", "image": "busybox:1.36", "command": ["sh", "-c", command]}]}}}}, **spec}}


def test_cronjob_starts_jobs_on_schedule(clocked) -> None:
    """Does a `* * * * *` CronJob start `<name>-<minutes>` Jobs with the scheduled-timestamp annotation, each minute?"""
    sb, api, offset = clocked
    bapi = batch(api)
    cj = bapi.create_namespaced_cron_job("default", make_cronjob("tick", successfulJobsHistoryLimit=2))
    time.sleep(0.2)
    assert not bapi.list_namespaced_job("default").items  # nothing due yet
    names = []
    for _ in range(4):
        advance(sb, offset, 60, "tick")
        job = wait_until(lambda: [j for j in bapi.list_namespaced_job("default").items
                                  if j.metadata.name not in names], what="a new job")[0]
        names.append(job.metadata.name)
        minutes = int(job.metadata.name.rsplit("-", 1)[1])
        stamp = job.metadata.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"]
        assert stamp == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minutes * 60))
        assert job.metadata.labels["from"] == "tick"
        ref = job.metadata.owner_references[0]
        assert (ref.kind, ref.name, ref.uid, ref.controller) == ("CronJob", "tick", cj.metadata.uid, True)
        wait_until(lambda: finished(api, "default", job.metadata.name))
    assert [int(n.rsplit("-", 1)[1]) for n in names] == sorted(int(n.rsplit("-", 1)[1]) for n in names)
    # only the two newest successful jobs are kept
    wait_until(lambda: sorted(j.metadata.name for j in bapi.list_namespaced_job("default").items) == names[-2:])
    cj = wait_until(lambda: (lambda c: c if c.status.last_successful_time and not c.status.active else None)(
        bapi.read_namespaced_cron_job("tick", "default")))
    assert cj.status.last_schedule_time.timestamp() == int(names[-1].rsplit("-", 1)[1]) * 60
    evs = events(api, "default", "tick")
    assert ("SuccessfulCreate", f"Created job {names[0]}") in evs
    assert ("SawCompletedJob", f"Saw completed job: {names[0]}, status: Complete") in evs
    assert ("SuccessfulDelete", f"Deleted job {names[0]}") in evs


def test_cronjob_forbid_and_replace(clocked) -> None:
    """Does Forbid skip a run while one is active, and Replace delete the running Job for the new one?"""
    sb, api, offset = clocked
    bapi = batch(api)
    bapi.create_namespaced_cron_job("default", make_cronjob("forbid", "sleep 1000", concurrencyPolicy="Forbid"))
    advance(sb, offset, 60, "forbid")
    first = wait_until(lambda: bapi.list_namespaced_job("default", label_selector="from=forbid").items)[0]
    advance(sb, offset, 60, "forbid")
    wait_until(lambda: ("JobAlreadyActive", "Not starting job because prior execution is running and concurrency "
                        "policy is Forbid") in events(api, "default", "forbid"))
    assert [j.metadata.name for j in bapi.list_namespaced_job("default", label_selector="from=forbid").items] == \
        [first.metadata.name]

    bapi.create_namespaced_cron_job("default", make_cronjob("repl", "sleep 1000", concurrencyPolicy="Replace"))
    advance(sb, offset, 60, "repl")
    old = wait_until(lambda: bapi.list_namespaced_job("default", label_selector="from=repl").items)[0]
    advance(sb, offset, 60, "repl")
    new = wait_until(lambda: [j for j in bapi.list_namespaced_job("default", label_selector="from=repl").items
                              if j.metadata.name != old.metadata.name and j.metadata.deletion_timestamp is None])[0]
    wait_until(lambda: old.metadata.name not in {j.metadata.name for j in
                                                 bapi.list_namespaced_job("default", label_selector="from=repl").items})
    assert ("SuccessfulDelete", f"Deleted job {old.metadata.name}") in events(api, "default", "repl")
    cj = bapi.read_namespaced_cron_job("repl", "default")
    assert [r.name for r in cj.status.active] == [new.metadata.name]


def test_cronjob_suspend_and_time_zone(clocked) -> None:
    """Does a suspended CronJob start nothing, and a timeZone one stamp its Job in that zone?"""
    sb, api, offset = clocked
    bapi = batch(api)
    bapi.create_namespaced_cron_job("default", make_cronjob("off", suspend=True))
    bapi.create_namespaced_cron_job("default", make_cronjob("tz", timeZone="Asia/Kolkata"))
    advance(sb, offset, 60, "off")
    advance(sb, offset, 0, "tz")
    job = wait_until(lambda: bapi.list_namespaced_job("default", label_selector="from=tz").items)[0]
    assert job.metadata.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"].endswith("+05:30")
    assert not bapi.list_namespaced_job("default", label_selector="from=off").items


def test_cronjob_every_duration(clocked) -> None:
    """Does `@every 2m` start a Job two minutes after creation, then every two minutes after the last schedule?"""
    sb, api, offset = clocked
    bapi = batch(api)
    cj = bapi.create_namespaced_cron_job("default", make_cronjob("evy", schedule="@every 2m"))
    created = cj.metadata.creation_timestamp.timestamp()
    advance(sb, offset, 61, "evy")
    time.sleep(0.3)
    assert not bapi.list_namespaced_job("default", label_selector="from=evy").items  # one minute: not yet
    advance(sb, offset, 60, "evy")
    job = wait_until(lambda: bapi.list_namespaced_job("default", label_selector="from=evy").items)[0]
    assert job.metadata.name == f"evy-{int((created + 120) // 60)}"
    cj = wait_until(lambda: (lambda c: c if c.status.last_schedule_time else None)(
        bapi.read_namespaced_cron_job("evy", "default")))
    assert cj.status.last_schedule_time.timestamp() == created + 120
    advance(sb, offset, 120, "evy")
    names = wait_until(lambda: (lambda js: js if len(js) == 2 else None)(sorted(
        j.metadata.name for j in bapi.list_namespaced_job("default", label_selector="from=evy").items)))
    assert names[1] == f"evy-{int((created + 240) // 60)}"


def test_cronjob_descriptor_in_time_zone(clocked) -> None:
    """Does an `@daily` CronJob in a time zone start its Job at that zone's midnight, stamped with its offset?"""
    sb, api, offset = clocked
    bapi = batch(api)
    zone = "Asia/Kolkata"
    bapi.create_namespaced_cron_job("default", make_cronjob("day", schedule="@daily", timeZone=zone))
    local = datetime.now(ZoneInfo(zone))
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    advance(sb, offset, midnight.timestamp() - time.time() + 5, "day")
    job = wait_until(lambda: bapi.list_namespaced_job("default", label_selector="from=day").items)[0]
    assert job.metadata.name == f"day-{int(midnight.timestamp() // 60)}"
    assert job.metadata.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] == \
        midnight.isoformat(timespec="seconds")


@pytest.mark.kubectl
@pytest.mark.parametrize(("schedule", "message"), [
    ("@every 1x", 'failed to parse duration @every 1x: time: unknown unit "x" in duration "1x"'),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ("*/5 * * *", "expected exactly 5 fields, found 4: [*/5 * * *]"),
])
def test_kubectl_create_cronjob_rejects_bad_schedules(pinned_kubectl, schedule: str, message: str) -> None:
    """Does `kubectl create cronjob` with a schedule robfig/cron refuses get the API server's Invalid error?"""
    r = pinned_kubectl("create", "cronjob", "bad", "--image=busybox:1.36", f"--schedule={schedule}", check=False)
    assert r.returncode == 1
    assert f'spec.schedule: Invalid value: "{schedule}": {message}' in r.stderr, r.stderr


@pytest.mark.kubectl
def test_kubectl_create_cronjob_accepts_every_and_descriptors(pinned_kubectl) -> None:
    """Are `@every 90s` and `@hourly` accepted, and shown as the SCHEDULE by `kubectl get cronjobs`?"""
    k = pinned_kubectl
    k("create", "cronjob", "every", "--image=busybox:1.36", "--schedule=@every 90s")
    k("create", "cronjob", "hourly", "--image=busybox:1.36", "--schedule=@hourly")
    rows = {line.split()[0]: line for line in k("get", "cronjobs", "--no-headers").stdout.splitlines()}
    assert "@every 90s" in rows["every"] and "@hourly" in rows["hourly"]
