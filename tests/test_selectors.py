"""Label and field selectors: parsing, matching, string forms and the real API server's error texts.

Checks ``kk_helpers.sandbox.selectors`` against behaviour of
``k8s.io/apimachinery/pkg/labels`` and ``pkg/fields``: the ``labelSelector`` /
``fieldSelector`` query syntax, ``LabelSelector`` objects, per-kind selectable
fields, and that arbitrary input only ever fails with an API error.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kk_helpers.sandbox import errors, resources, selectors
from kk_helpers.sandbox.resources import ResourceType


def _known(rt: ResourceType | None) -> ResourceType:
    """A resource type the registry table must define."""
    assert rt is not None
    return rt


DEPLOYMENTS = _known(resources.DEPLOYMENTS)
EVENTS = _known(resources.EVENTS)
EVENTS_V1 = _known(resources.EVENTS_V1)
JOBS = _known(resources.JOBS)
NAMESPACES = _known(resources.NAMESPACES)
NODES = _known(resources.NODES)
PODS = _known(resources.PODS)
SECRETS = _known(resources.SECRETS)
SERVICES = _known(resources.SERVICES)

LABELS = {"app": "web", "tier": "frontend", "version": "3", "in": "x"}


@pytest.mark.parametrize("selector, labels, expected", [
    ("", LABELS, True),
    ("   ", LABELS, True),
    ("app=web", LABELS, True),
    ("app==web", LABELS, True),
    ("app=db", LABELS, False),
    ("app!=db", LABELS, True),
    ("missing!=x", LABELS, True),
    ("app!=web", LABELS, False),
    ("app in (web,db)", LABELS, True),
    ("app in (db)", LABELS, False),
    ("app notin (db)", LABELS, True),
    ("missing notin (db)", LABELS, True),
    ("app notin (web)", LABELS, False),
    ("app", LABELS, True),
    ("missing", LABELS, False),
    ("!missing", LABELS, True),
    ("!app", LABELS, False),
    ("app=web,tier=frontend", LABELS, True),
    ("app=web,tier=backend", LABELS, False),
    ("version>2", LABELS, True),
    ("version<3", LABELS, False),
    ("app>2", LABELS, False),
    ("in=x", LABELS, True),
    ("app=", {"app": ""}, True),
    ("app=", LABELS, False),
    ("x in (foo,,baz)", {"x": ""}, True),
    ("z notin ()", {"z": "a"}, True),
    (" app = web , tier in ( frontend ) ", LABELS, True),
])
def test_label_selector_matching(selector: str, labels: dict[str, str], expected: bool) -> None:
    """Does each selector form match labels the way labels.Parse + Matches do?"""
    assert selectors.parse_label_selector(selector)(labels) is expected


@pytest.mark.parametrize("selector, message", [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
    ("a in =", "unable to parse requirement: found '=' expected: '('"),
    ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("a=(b)", "unable to parse requirement: found '(', expected: identifier"),
    ("a,,b", "found ',', expected: identifier after ','"),
    ("a,", "found '', expected: identifier after ','"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("=x", "found '=', expected: !, identifier, or 'end of string'"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("-a=b", "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of alphanumeric "
             "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
             "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    ("a=b@c", "unable to parse requirement: values[0][a]: Invalid value: \"b@c\": a valid label must be an empty "
              "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
              "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
              "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    ("a>b", "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, "
            "the value must be an integer"),
])
def test_label_selector_parse_errors(selector: str, message: str) -> None:
    """Does a malformed labelSelector fail with 400 BadRequest and the real parser's message?"""
    with pytest.raises(errors.APIError) as info:
        selectors.parse_label_selector(selector)
    assert info.value.code == 400
    assert info.value.reason == "BadRequest"
    assert info.value.message == message


@pytest.mark.parametrize("selector, canonical", [
    ("tier=frontend,app=web", "app=web,tier=frontend"),
    ("app==web", "app==web"),
    ("x in (foo,,baz)", "x in (,baz,foo)"),
    ("b notin (z,a),!c,d", "b notin (a,z),!c,d"),
    ("n>5", "n>5"),
])
def test_label_selector_string(selector: str, canonical: str) -> None:
    """Is a parsed selector printed the way Selector.String() prints it (sorted by key)?"""
    assert str(selectors.parse_label_selector(selector)) == canonical


@pytest.mark.parametrize("obj, labels, expected", [
    (None, LABELS, False),
    ({}, LABELS, True),
    ({"matchLabels": {"app": "web"}}, LABELS, True),
    ({"matchLabels": {"app": "db"}}, LABELS, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend", "x"]}]}, LABELS, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["frontend"]}]}, LABELS, False),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, LABELS, True),
    ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, LABELS, False),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]},
     LABELS, True),
    ({"matchExpressions": [{"key": "tier", "operator": "Bogus", "values": ["a"]}]}, LABELS, False),
])
def test_label_selector_objects(obj: dict | None, labels: dict[str, str], expected: bool) -> None:
    """Does a LabelSelector object select labels as LabelSelectorAsSelector does (nil: nothing, {}: everything)?"""
    assert selectors.matches_label_selector(obj, labels) is expected


def test_invalid_selector_object_raises_real_message() -> None:
    """Does an unknown matchExpressions operator raise the real conversion error?"""
    with pytest.raises(ValueError, match='^"Bogus" is not a valid label selector operator$'):
        selectors.selector_from_object({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})


@pytest.mark.parametrize("obj, text, shown", [
    ({"matchLabels": {"app": "web"}}, "app=web", "app=web"),
    ({"matchLabels": {"tier": "b", "app": "web"},
      "matchExpressions": [{"key": "env", "operator": "In", "values": ["z", "a"]},
                           {"key": "x", "operator": "DoesNotExist"}]},
     "app=web,env in (a,z),tier=b,!x", "app=web,env in (a,z),tier=b,!x"),
    ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, "env", "env"),
    ({}, "", "<none>"),
    (None, "", "<none>"),
    ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, "", "<error>"),
])
def test_selector_object_strings(obj: dict | None, text: str, shown: str) -> None:
    """Are selector objects rendered like selector.String() and kubectl's FormatLabelSelector?"""
    assert selectors.selector_to_string(obj) == text
    assert selectors.format_label_selector(obj) == shown


@pytest.mark.parametrize("selector, terms", [
    ("", []),
    ("metadata.name=web", [("metadata.name", "=", "web")]),
    ("metadata.name==web", [("metadata.name", "==", "web")]),
    ("status.phase!=Running,spec.nodeName=n1", [("spec.nodeName", "=", "n1"), ("status.phase", "!=", "Running")]),
    ("metadata.name=", [("metadata.name", "=", "")]),
    (r"a=b\,c", [("a", "=", "b,c")]),
    (r"a=b\=c\\d", [("a", "=", "b=c\\d")]),
    ("a=b,,c=d", [("a", "=", "b"), ("c", "=", "d")]),
])
def test_field_selector_parsing(selector: str, terms: list[tuple[str, str, str]]) -> None:
    """Are field selectors split, sorted and unescaped as fields.ParseSelector does?"""
    assert selectors.parse_field_selector(selector) == terms


@pytest.mark.parametrize("selector, message", [
    ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
    ("a=b,foo", "invalid selector: 'a=b,foo'; can't understand 'foo'"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),
    ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
    (r"a=b\x", "invalid field selector: invalid escape sequence: \\x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
])
def test_field_selector_syntax_errors(selector: str, message: str) -> None:
    """Does malformed fieldSelector syntax fail with the real 400 message?"""
    with pytest.raises(errors.APIError) as info:
        selectors.parse_field_selector(selector)
    assert (info.value.code, info.value.message) == (400, message)


@pytest.mark.parametrize("rt, field, message", [
    (PODS, "foo", "field label not supported: foo"),
    (NODES, "metadata.namespace", "field label not supported: metadata.namespace"),
    (NAMESPACES, "metadata.namespace", "field label not supported: metadata.namespace"),
    (EVENTS, "message", "field label not supported: message"),
    (EVENTS_V1, "involvedObject.name", "field label not supported: involvedObject.name"),
    (JOBS, "status.active", 'field label "status.active" not supported for Job'),
    (DEPLOYMENTS, "spec.replicas",
     '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'),
])
def test_unsupported_field_labels(rt, field: str, message: str) -> None:
    """Does each kind reject fields it cannot select on, with that kind's real message?"""
    with pytest.raises(errors.APIError) as info:
        selectors.compile_field_selector(rt, f"{field}=x")
    assert (info.value.code, info.value.reason, info.value.message) == (400, "BadRequest", message)


POD = {
    "metadata": {"name": "web-1", "namespace": "shop"},
    "spec": {"nodeName": "node-a", "restartPolicy": "Always", "schedulerName": "default-scheduler",
             "serviceAccountName": "default"},
    "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}]},
}


@pytest.mark.parametrize("rt, obj, field, value", [
    (PODS, POD, "metadata.name", "web-1"),
    (PODS, POD, "metadata.namespace", "shop"),
    (PODS, POD, "spec.nodeName", "node-a"),
    (PODS, POD, "spec.host", "node-a"),
    (PODS, POD, "spec.hostNetwork", "false"),
    (PODS, POD, "spec.schedulerName", "default-scheduler"),
    (PODS, POD, "status.phase", "Running"),
    (PODS, POD, "status.podIP", "10.0.0.5"),
    (PODS, {"metadata": {"name": "p"}}, "status.nominatedNodeName", ""),
    (NODES, {"metadata": {"name": "n"}, "spec": {"unschedulable": True}}, "spec.unschedulable", "true"),
    (NODES, {"metadata": {"name": "n"}}, "spec.unschedulable", "false"),
    (NAMESPACES, {"metadata": {"name": "dev"}, "status": {"phase": "Active"}}, "status.phase", "Active"),
    (SECRETS, {"metadata": {"name": "s"}, "type": "Opaque"}, "type", "Opaque"),
    (SERVICES, {"metadata": {"name": "s"}, "spec": {"clusterIP": "10.96.0.10", "type": "ClusterIP"}},
     "spec.clusterIP", "10.96.0.10"),
    (JOBS, {"metadata": {"name": "j"}, "status": {"succeeded": 2}}, "status.successful", "2"),
    (JOBS, {"metadata": {"name": "j"}}, "status.successful", "0"),
    (EVENTS, {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "web-1", "uid": "u1"},
              "reason": "Scheduled", "type": "Normal", "source": {"component": "default-scheduler"}},
     "involvedObject.uid", "u1"),
    (EVENTS, {"metadata": {"name": "e"}, "source": {"component": "default-scheduler"}}, "source", "default-scheduler"),
    (EVENTS, {"metadata": {"name": "e"}, "reportingComponent": "kubelet"}, "source", "kubelet"),
    (EVENTS_V1, {"metadata": {"name": "e"}, "regarding": {"kind": "Pod"}, "reportingController": "kubelet"},
     "regarding.kind", "Pod"),
])
def test_field_getter(rt, obj: dict, field: str, value: str) -> None:
    """Does each selectable field read the value the server's ToSelectableFields would?"""
    assert selectors.field_getter(rt, obj, field) == value


def test_field_selector_matching() -> None:
    """Do =, == and != terms combine with AND over an object's selectable fields?"""
    pending = {"metadata": {"name": "b", "namespace": "shop"}, "spec": {"nodeName": "node-a"},
               "status": {"phase": "Succeeded"}}
    other = {"metadata": {"name": "c", "namespace": "shop"}, "spec": {"nodeName": "node-b"},
             "status": {"phase": "Running"}}
    match = selectors.compile_field_selector(
        PODS, "spec.nodeName=node-a,status.phase!=Succeeded,status.phase!=Failed")
    assert match.filter([POD, pending, other]) == [POD]
    assert selectors.compile_field_selector(PODS, "metadata.name==web-1")(POD)
    assert not selectors.compile_field_selector(PODS, "metadata.name!=web-1")(POD)


def test_watch_style_name_selector_on_any_kind() -> None:
    """Can every kind be watched with metadata.name=<n> (what kubectl delete --wait sends)?"""
    for rt in (PODS, DEPLOYMENTS, NAMESPACES, NODES, SERVICES, JOBS):
        assert selectors.compile_field_selector(rt, "metadata.name=x")({"metadata": {"name": "x"}})


@pytest.mark.parametrize("key, problems", [
    ("app", 0),
    ("app.kubernetes.io/name", 0),
    ("My.Name_1", 0),
    ("", 2),
    ("/name", 1),
    ("a/b/c", 1),
    ("Example.com/x", 1),
    ("x" * 64, 1),
])
def test_label_key_syntax(key: str, problems: int) -> None:
    """Are label keys checked like IsQualifiedName (prefix subdomain, 63-byte name part)?"""
    assert len(selectors.is_label_key(key)) == problems


def test_dns_label_messages() -> None:
    """Do DNS name checks give the exact messages (including the dots special case)?"""
    assert selectors.is_dns1123_label("a.b") == ["must not contain dots"]
    assert selectors.is_dns1123_label("x" * 64) == ["must be no more than 63 characters"]
    assert selectors.is_dns1035_label("1abc") == [
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
        "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
        "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"]
    assert selectors.is_label_value("x" * 64) == ["must be no more than 63 bytes"]


@pytest.mark.parametrize("text, quoted", [
    ("abc", '"abc"'),
    ('a"b', '"a\\"b"'),
    ("tab\there", '"tab\\there"'),
    ("\x01", '"\\x01"'),
    ("é", '"é"'),
    ("\u00a0", '"\\u00a0"'),
])
def test_go_quote(text: str, quoted: str) -> None:
    """Are strings quoted like Go's %q?"""
    assert selectors.go_quote(text) == quoted


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab=!(),<> \t-_./in0notin9é\x00")) | st.characters(), max_size=40))
def test_label_parser_only_raises_api_errors(text: str) -> None:
    """Does any string either parse or fail with a 400 APIError (never another exception)?"""
    try:
        sel = selectors.parse_label_selector(text)
    except errors.APIError as err:
        assert err.code == 400 and err.message
    else:
        sel({"a": "b"})
        str(sel)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab=!,\\.x ")) | st.characters(), max_size=30))
def test_field_parser_only_raises_api_errors(text: str) -> None:
    """Does any field selector string either compile or fail with a 400 APIError?"""
    try:
        match = selectors.compile_field_selector(PODS, text)
    except errors.APIError as err:
        assert err.code == 400 and err.message
    else:
        match(POD)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["1", "2", "x"]), max_size=3),
       st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["1", "2", "x"]), max_size=3))
def test_equality_selector_agrees_with_set_semantics(want: dict[str, str], labels: dict[str, str]) -> None:
    """Is a k=v,... selector the same as 'every pair is present' (both as a string and as matchLabels)?"""
    expected = all(labels.get(k) == v for k, v in want.items())
    text = ",".join(f"{k}={v}" for k, v in want.items())
    assert selectors.parse_label_selector(text)(labels) is expected
    assert selectors.matches_label_selector({"matchLabels": want}, labels) is expected


def test_filtering_five_thousand_pods_is_fast() -> None:
    """Do compiled selectors filter 5,000 pods in a few milliseconds?"""
    pods: list[dict[str, Any]] = [{"metadata": {"name": f"p{i}", "namespace": "default",
                                        "labels": {"app": "web" if i % 2 else "db",
                                                   "pod-template-hash": str(i % 7)}},
                                   "spec": {"nodeName": f"node-{i % 3}"}, "status": {"phase": "Running"}}
                                  for i in range(5000)]
    label_sel = selectors.parse_label_selector("app=web,pod-template-hash in (1,2)")
    field_sel = selectors.compile_field_selector(PODS, "spec.nodeName=node-1,status.phase!=Failed")
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        chosen = [p for p in pods if label_sel(p["metadata"]["labels"]) and field_sel(p)]
        best = min(best, time.perf_counter() - start)
    assert chosen and all(p["metadata"]["labels"]["app"] == "web" for p in chosen)
    # About 3 ms on an idle machine; the bound leaves room for a loaded CI runner.
    assert best < 0.05, f"filtering took {best * 1000:.1f} ms"
