"""Tests for the sandbox's Kubernetes protobuf decoder (kk_helpers.sandbox.protobuf).

What is checked:

* Real bodies: every ``tests/fixtures/protobuf/<name>-<kubectl version>.pb`` was
  POSTed by a real kubectl (1.32 and 1.37) for ``kubectl create ...`` (see
  ``capture.py`` there). Each must decode to exactly ``<name>.json``, which is
  what kubectl 1.37 prints for the same command with ``--dry-run=client -o json``.
  No normalisation is needed: 1.37 omits the zero ``creationTimestamp`` (1.32
  printed ``null``; the capture script checks the two agree otherwise), and
  ``"status": {}``, ``"resources": {}``, ``"strategy": {}`` are on the wire as
  empty messages, so the decoder writes them just as Go's JSON encoder does.
  ``job-from-cronjob-rich`` is ``kubectl create job test --from=cronjob/rich``
  against a CronJob with a pod template using most PodSpec/Container fields.
* Hand-encoded bodies for what kubectl's create commands never send: times,
  string IntOrStrings, quantities, binaryData, packed repeated fields, unknown
  fields, a singular message sent twice, Pod and ReplicaSet.
* Unsupported kinds and encodings give ``ProtobufError(unsupported=True)`` naming the kind.
* Malformed bodies (wrong magic, truncation, bad wire types, invalid UTF-8,
  forged lengths, over-long varints) give ``ProtobufError``, unsupported False.
* Hypothesis fuzzing (random bytes, mutated real fixtures, random wire-format
  messages inside a valid envelope; several thousand examples) shows nothing but
  ``ProtobufError`` ever escapes and every success is a JSON-serialisable dict.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kk_helpers.sandbox.protobuf import MAGIC, SCHEMA, SUPPORTED_KINDS, ProtobufError, decode

FIXTURES = Path(__file__).parent / "fixtures" / "protobuf"
PB_FILES = sorted(FIXTURES.glob("*.pb"))
FUZZ = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- a tiny encoder for hand-made bodies

def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def vi(number: int, value: int) -> bytes:
    """A varint field (negative numbers as 64-bit two's complement, as Go writes them)."""
    return tag(number, 0) + varint(value)


def ld(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return tag(number, 2) + varint(len(payload)) + payload


def s(number: int, text: str) -> bytes:
    return ld(number, text.encode())


def entry(number: int, key: str, value: bytes) -> bytes:
    """One map entry: key string 1, value field 2 already encoded as bytes of a length-delimited value."""
    return ld(number, s(1, key) + ld(2, value))


def envelope(api_version: str, kind: str, raw: bytes, extra: bytes = b"") -> bytes:
    return MAGIC + ld(1, s(1, api_version) + s(2, kind)) + ld(2, raw) + extra


def meta(name: str) -> bytes:
    return ld(1, s(1, name))


def fixture_json(pb: Path) -> dict:
    return json.loads((FIXTURES / (pb.name.rsplit("-", 1)[0] + ".json")).read_text())


# --------------------------------------------------------------------------- real kubectl bodies

def test_fixtures_exist_for_both_kubectl_versions():
    """Are there captured bodies from both kubectl 1.32 and 1.37 for every command?"""
    names = {p.name.rsplit("-", 1)[0] for p in PB_FILES}
    assert len(names) >= 11
    for name in names:
        assert (FIXTURES / f"{name}-1.32.pb").exists() and (FIXTURES / f"{name}-1.37.pb").exists()
        assert (FIXTURES / f"{name}.json").exists()


@pytest.mark.parametrize("pb", PB_FILES, ids=[p.name for p in PB_FILES])
def test_real_kubectl_body_decodes_to_kubectls_json(pb: Path):
    """Does each body real kubectl sent decode to exactly the JSON kubectl prints for the same command?"""
    assert decode(pb.read_bytes()) == fixture_json(pb)


def test_captured_requests_are_protobuf_posts_with_kubectl_create_query():
    """Did every capture come as a protobuf POST with the fieldManager/fieldValidation query the server must accept?"""
    requests = json.loads((FIXTURES / "requests.json").read_text())
    assert {r["fixture"] for r in requests} == {p.name for p in PB_FILES}
    for r in requests:
        assert r["method"] == "POST"
        assert r["content_type"] == "application/vnd.kubernetes.protobuf"
        assert r["accept"] == "application/vnd.kubernetes.protobuf,application/json"
        assert r["query"] == "fieldManager=kubectl-create&fieldValidation=Strict"


def test_pointer_zeros_survive_and_omitempty_zeros_do_not():
    """Are Go pointer fields kept at zero/false (backoffLimit: 0) while omitempty zeros ("" names) are dropped?"""
    job = decode((FIXTURES / "job-from-cronjob-rich-1.37.pb").read_bytes())
    spec = job["spec"]
    assert spec["backoffLimit"] == 0 and spec["ttlSecondsAfterFinished"] == 0 and spec["suspend"] is False
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 0 and pod["automountServiceAccountToken"] is False
    main = pod["containers"][0]
    assert main["securityContext"]["runAsUser"] == 0 and main["securityContext"]["runAsNonRoot"] is False
    assert main["env"][1] == {"name": "EMPTY"}
    assert main["readinessProbe"]["tcpSocket"]["port"] == "http"
    assert main["livenessProbe"]["httpGet"]["port"] == 80
    assert main["resources"] == {"limits": {"cpu": "1", "memory": "128Mi"},
                                 "requests": {"cpu": "100m", "memory": "64Mi"}}
    deployment = decode((FIXTURES / "deployment-myd1-1.37.pb").read_bytes())
    assert "name" not in deployment["spec"]["template"]["metadata"]  # sent as "" on the wire
    assert "creationTimestamp" not in deployment["metadata"]  # sent as an empty Time


def test_secret_data_is_base64():
    """Is Secret.data ([]byte values) written as base64 strings?"""
    secret = decode((FIXTURES / "secret-s1-1.37.pb").read_bytes())
    assert secret["data"] == {"password": "aHVudGVyMg=="}


# --------------------------------------------------------------------------- hand-encoded bodies

def test_times_are_rfc3339_seconds_and_zero_time_is_left_out():
    """Is metav1.Time written as YYYY-MM-DDTHH:MM:SSZ (nanos dropped), and an empty Time left out?"""
    md = s(1, "t") + ld(8, vi(1, 1735787045) + vi(2, 999_999_999)) + ld(9, b"")
    obj = decode(envelope("v1", "Namespace", ld(1, md)))
    assert obj["metadata"] == {"name": "t", "creationTimestamp": "2025-01-02T03:04:05Z"}
    epoch = decode(envelope("v1", "Namespace", ld(1, ld(8, vi(1, 0)))))
    assert epoch["metadata"] == {"creationTimestamp": "1970-01-01T00:00:00Z"}
    go_zero = decode(envelope("v1", "Namespace", ld(1, ld(8, vi(1, -62135596800)))))
    assert go_zero["metadata"] == {}


def test_time_out_of_range_is_malformed():
    """Is a Time beyond year 9999 (which Go cannot write as JSON) a ProtobufError?"""
    with pytest.raises(ProtobufError) as err:
        decode(envelope("v1", "Namespace", ld(1, ld(8, vi(1, 10**15)))))
    assert not err.value.unsupported


def test_deployment_strategy_int_or_string_and_quantities():
    """Do IntOrString (string and int forms) and resource quantities decode as str/int and strings?"""
    rolling = ld(1, vi(1, 0) + vi(2, 0)) + ld(2, vi(1, 1) + s(3, "25%"))
    container = s(1, "c") + s(2, "img") + ld(8, entry(2, "cpu", s(1, "250m")) + entry(1, "memory", b""))
    template = ld(1, b"") + ld(2, ld(2, container))
    spec = vi(1, 0) + ld(3, template) + ld(4, s(1, "RollingUpdate") + ld(2, rolling)) + vi(6, 0)
    obj = decode(envelope("apps/v1", "Deployment", meta("d") + ld(2, spec) + ld(3, b"")))
    assert obj == {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 0,
                 "template": {"metadata": {}, "spec": {"containers": [
                     {"name": "c", "image": "img", "resources": {"limits": {"memory": "0"},
                                                                 "requests": {"cpu": "250m"}}}]}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                 "revisionHistoryLimit": 0},
        "status": {},
    }


def test_int_or_string_with_unknown_type_is_malformed():
    """Is an IntOrString whose type is neither 0 nor 1 a ProtobufError?"""
    port = ld(1, s(1, "p") + vi(3, 80) + ld(4, vi(1, 7)))
    with pytest.raises(ProtobufError):
        decode(envelope("v1", "Service", meta("s") + ld(2, port)))


def test_configmap_binary_data_and_immutable_false():
    """Are ConfigMap binaryData values base64 and a sent immutable=false kept?"""
    raw = meta("c") + vi(4, 0) + entry(2, "k", b"v") + entry(3, "bin", b"\x00\xff")
    assert decode(envelope("v1", "ConfigMap", raw)) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "immutable": False, "data": {"k": "v"}, "binaryData": {"bin": "AP8="}}


def test_map_duplicate_keys_keep_the_last():
    """Does a map key sent twice keep its last value, as Go's decoder does?"""
    raw = ld(1, entry(11, "a", b"1") + entry(11, "a", b"2"))
    assert decode(envelope("v1", "Namespace", raw))["metadata"] == {"labels": {"a": "2"}}


def test_unknown_fields_of_every_wire_type_are_skipped():
    """Are fields the schema does not know (varint, fixed64, length-delimited, fixed32) skipped?"""
    unknown = vi(99, 5) + tag(98, 1) + b"\x00" * 8 + s(97, "x") + tag(96, 5) + b"\x00" * 4
    raw = ld(1, s(1, "n") + unknown) + unknown + ld(2, unknown)
    assert decode(envelope("v1", "Namespace", raw, extra=unknown)) == {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}, "spec": {}}


def test_packed_and_unpacked_repeated_integers():
    """Are repeated integers read both packed and one by one (supplementalGroups)?"""
    packed = ld(4, varint(1) + varint(2))
    unpacked = vi(4, 3) + vi(4, -1)
    pod_spec = ld(14, packed + unpacked)
    obj = decode(envelope("v1", "Pod", meta("p") + ld(2, pod_spec)))
    assert obj["spec"]["securityContext"]["supplementalGroups"] == [1, 2, 3, -1]


def test_singular_message_sent_twice_is_merged():
    """Is a singular message field sent twice merged, as protobuf requires (later scalars win)?"""
    raw = ld(1, s(1, "first") + entry(11, "a", b"1")) + ld(1, s(1, "second") + s(3, "ns"))
    assert decode(envelope("v1", "Namespace", raw))["metadata"] == {
        "name": "second", "namespace": "ns", "labels": {"a": "1"}}


def test_negative_int32_and_int64():
    """Are negative numbers (10-byte varints) read as signed int32/int64?"""
    port = ld(1, vi(3, -1) + vi(5, -2))
    obj = decode(envelope("v1", "Service", meta("s") + ld(2, port)))
    assert obj["spec"]["ports"] == [{"port": -1, "nodePort": -2}]


def test_pod_with_status_and_volumes():
    """Does a Pod decode, with inline volume sources, emptyDir {}, and status fields Go never omits?"""
    volume = s(1, "v") + ld(2, ld(2, b""))
    cfg = s(1, "cfg") + ld(2, ld(19, ld(1, s(1, "cm")) + vi(3, 420)))
    container_status = s(1, "c") + vi(4, 0) + vi(5, 0) + s(6, "img") + s(7, "") + ld(2, ld(1, s(1, "Waiting")))
    status = s(1, "Pending") + ld(2, s(1, "PodScheduled") + s(2, "True") + ld(4, vi(1, 60))) + ld(8, container_status)
    obj = decode(envelope("v1", "Pod", meta("p") + ld(2, ld(1, volume) + ld(1, cfg)) + ld(3, status)))
    assert obj["spec"] == {"volumes": [{"name": "v", "emptyDir": {}},
                                       {"name": "cfg", "configMap": {"name": "cm", "defaultMode": 420}}]}
    assert obj["status"] == {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "1970-01-01T00:01:00Z"}],
        "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "Waiting"}}, "ready": False,
                               "restartCount": 0, "image": "img", "imageID": ""}],
    }


def test_replicaset_decodes():
    """Does an apps/v1 ReplicaSet decode, with owner references and a label selector?"""
    owner = s(1, "Deployment") + s(3, "web") + s(4, "u-1") + s(5, "apps/v1") + vi(6, 1) + vi(7, 1)
    md = s(1, "web-abc") + ld(13, owner)
    selector = entry(1, "app", b"web") + ld(2, s(1, "tier") + s(2, "In") + s(3, "a") + s(3, "b"))
    obj = decode(envelope("apps/v1", "ReplicaSet", ld(1, md) + ld(2, vi(1, 2) + ld(2, selector)) + ld(3, vi(1, 0))))
    assert obj == {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-abc", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u-1",
             "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]}]}},
        "status": {"replicas": 0},
    }


def test_managed_fields_v1_is_json():
    """Is managedFields[].fieldsV1 (raw JSON bytes) written as the JSON it holds?"""
    entry_ = s(1, "kubectl") + s(2, "Update") + s(6, "FieldsV1") + ld(7, s(1, '{"f:metadata":{}}'))
    obj = decode(envelope("v1", "Namespace", ld(1, ld(17, entry_))))
    assert obj["metadata"]["managedFields"] == [
        {"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]
    with pytest.raises(ProtobufError):
        decode(envelope("v1", "Namespace", ld(1, ld(17, ld(7, s(1, "{not json"))))))


# --------------------------------------------------------------------------- unsupported

@pytest.mark.parametrize(("api_version", "kind"), [("x/v1", "Foo"), ("v1", "Node"), ("apps/v1beta1", "Deployment"),
                                                   ("apps/v1", "StatefulSet")])
def test_unsupported_kind_names_the_kind(api_version: str, kind: str):
    """Is a kind without a schema a ProtobufError with unsupported=True whose message names kind and apiVersion?"""
    with pytest.raises(ProtobufError) as err:
        decode(envelope(api_version, kind, meta("x")))
    assert err.value.unsupported and err.value.kind == kind
    assert f'"{kind}"' in str(err.value) and f'"{api_version}"' in str(err.value)
    assert "send JSON instead" in str(err.value)


def test_unsupported_content_encoding():
    """Is a body with a contentEncoding (e.g. gzip) unsupported rather than misread?"""
    with pytest.raises(ProtobufError) as err:
        decode(envelope("v1", "Namespace", meta("x"), extra=s(3, "gzip")))
    assert err.value.unsupported and err.value.kind == "Namespace"


def test_every_supported_kind_has_a_schema():
    """Does each supported (apiVersion, kind) map to a message in the schema?"""
    assert {"Deployment", "Service", "Namespace", "Job", "CronJob", "ConfigMap", "Secret", "ServiceAccount",
            "Pod", "ReplicaSet"} == {k for _, k in SUPPORTED_KINDS}
    for message in SUPPORTED_KINDS.values():
        assert message in SCHEMA and SCHEMA[message][1].type == "ObjectMeta"


# --------------------------------------------------------------------------- malformed

REAL = (FIXTURES / "deployment-web-1.37.pb").read_bytes()

MALFORMED = {
    "empty": b"",
    "json instead": b'{"kind":"Namespace"}',
    "wrong magic": b"k8s\x01" + REAL[4:],
    "magic only": MAGIC,
    "no kind": MAGIC + ld(1, s(1, "v1")) + ld(2, b""),
    "no raw": MAGIC + ld(1, s(1, "v1") + s(2, "Namespace")),
    "string sent as varint": envelope("v1", "Namespace", ld(1, vi(1, 5))),
    "message sent as varint": envelope("v1", "Namespace", vi(1, 5)),
    "int sent as bytes": envelope("apps/v1", "Deployment", ld(2, s(1, "3"))),
    "fixed64 for a string": envelope("v1", "Namespace", ld(1, tag(1, 1) + b"\x00" * 8)),
    "invalid utf-8 name": envelope("v1", "Namespace", ld(1, ld(1, b"\xff\xfe"))),
    "invalid utf-8 kind": MAGIC + ld(1, s(1, "v1") + ld(2, b"\xc3")) + ld(2, b""),
    "invalid utf-8 map key": envelope("v1", "Namespace", ld(1, ld(11, ld(1, b"\xff") + s(2, "v")))),
    "forged huge length": MAGIC + tag(2, 2) + varint(1 << 62) + b"abc",
    "forged inner length": envelope("v1", "Namespace", tag(1, 2) + varint(1 << 40)),
    "varint over 10 bytes": MAGIC + tag(1, 0) + b"\xff" * 11 + b"\x01",
    "varint over 64 bits": MAGIC + tag(1, 0) + b"\xff" * 9 + b"\x7f",
    "truncated varint": MAGIC + tag(1, 0) + b"\xff",
    "start group": MAGIC + tag(1, 3),
    "wire type 7": MAGIC + tag(1, 7),
    "field number zero": MAGIC + b"\x02\x00",
    "truncated fixed32": envelope("v1", "Namespace", tag(50, 5) + b"\x00"),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_body_is_a_400_error(body: bytes):
    """Is each malformed body a ProtobufError that is not 'unsupported' (the server answers 400)?"""
    with pytest.raises(ProtobufError) as err:
        decode(body)
    assert not err.value.unsupported and str(err.value)


def test_non_bytes_input_is_rejected():
    """Is a str (not bytes) body a ProtobufError rather than a TypeError?"""
    with pytest.raises(ProtobufError):
        decode("k8s\x00")  # type: ignore[arg-type]


def test_every_truncation_of_a_real_body_errors_or_decodes_the_same():
    """Does every prefix of a real body either raise ProtobufError or (cut only after raw) decode to the same object?"""
    for pb in PB_FILES:
        body = pb.read_bytes()
        whole = decode(body)
        for end in range(len(body)):
            try:
                assert decode(body[:end]) == whole
            except ProtobufError:
                pass


# --------------------------------------------------------------------------- fuzzing

def _decodes_or_protobuf_error(body: bytes) -> None:
    try:
        result = decode(body)
    except ProtobufError as err:
        assert isinstance(err.unsupported, bool)
        return
    assert isinstance(result, dict) and "kind" in result
    json.dumps(result)


@settings(FUZZ, max_examples=1000)
@given(st.binary(max_size=400), st.booleans())
def test_fuzz_random_bytes(data: bytes, with_magic: bool):
    """Do random bytes (with or without the magic prefix) only ever raise ProtobufError?"""
    _decodes_or_protobuf_error(MAGIC + data if with_magic else data)


_REAL_BODIES = [p.read_bytes() for p in PB_FILES]


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    body = bytearray(draw(st.sampled_from(_REAL_BODIES)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(len(body) - 1, 0)))
        if op == "flip" and body:
            body[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and body:
            body[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            body[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and body:
            del body[pos:pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del body[pos:]
    return bytes(body)


@settings(FUZZ, max_examples=1500)
@given(mutated_fixture())
def test_fuzz_mutated_real_bodies(body: bytes):
    """Do real kubectl bodies with flipped, inserted, deleted or cut bytes only ever raise ProtobufError?"""
    _decodes_or_protobuf_error(body)


_NUMBERS = st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 19, 20, 22, 26, 30, 40, 99])
_LEAF = st.one_of(
    st.builds(vi, _NUMBERS, st.integers(-(1 << 63), (1 << 64) - 1)),
    st.builds(ld, _NUMBERS, st.binary(max_size=12)),
    st.builds(s, _NUMBERS, st.text(max_size=8)),
    st.builds(lambda n, b: tag(n, 1) + b, _NUMBERS, st.binary(min_size=8, max_size=8)),
    st.builds(lambda n, b: tag(n, 5) + b, _NUMBERS, st.binary(min_size=4, max_size=4)),
)
_WIRE_MESSAGE = st.recursive(
    st.lists(_LEAF, max_size=4).map(b"".join),
    lambda inner: st.lists(st.one_of(_LEAF, st.builds(ld, _NUMBERS, inner)), max_size=5).map(b"".join),
    max_leaves=30,
)


@settings(FUZZ, max_examples=1000)
@given(st.sampled_from(sorted(SUPPORTED_KINDS)), _WIRE_MESSAGE)
def test_fuzz_random_messages_in_a_valid_envelope(kind: tuple[str, str], raw: bytes):
    """Do random (well-framed) wire-format messages, as any supported kind, only ever raise ProtobufError?"""
    _decodes_or_protobuf_error(envelope(kind[0], kind[1], raw))
