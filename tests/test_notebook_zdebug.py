"""temp debug"""
import time
import kk_helpers as kk
from test_notebook_support import cluster, deployment, kk_env  # noqa: F401

def test_debug(cluster):
    """?"""
    print(repr(kk.nodes()))
    for n in kk.nodes():
        print(n.name, n.spec.get("taints"), n.annotations)
    deployment(cluster, "myd1", replicas=2, wait=False)
    time.sleep(5)
    print(repr(kk.pods()))
    for p in kk.pods():
        print(p.status.get("conditions"), p.status.get("containerStatuses"))
    print(repr(kk.events()))
    assert False
