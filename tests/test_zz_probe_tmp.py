"""temp probe: what state is the shared session sandbox in at the end?"""
def test_nodes_left(sandbox):
    """?"""
    from kk_helpers.sandbox.resources import NODES
    def look():
        return [(n["metadata"]["name"], [c["status"] for c in n.get("status", {}).get("conditions", []) if c["type"] == "Ready"],
                 n["metadata"].get("annotations", {}).get("sandbox.kk.dev/stopped"), n.get("spec", {}).get("unschedulable"),
                 n.get("spec", {}).get("taints")) for n in sandbox.sandbox.store.list(NODES)]
    print("NODES:", sandbox.call(look))
