"""Decode Kubernetes protobuf request bodies into the JSON form of the object.

``kubectl create deployment|service|namespace|job|cronjob|configmap|secret|
serviceaccount ...`` (the typed clients) POST ``application/vnd.kubernetes.protobuf``
bodies: the magic bytes ``k8s\\x00`` followed by a ``runtime.Unknown`` message
(field 1 TypeMeta {1 apiVersion, 2 kind}, field 2 raw object bytes, field 3
contentEncoding, field 4 contentType). The object bytes follow the message
definitions of ``k8s.io/api`` and ``k8s.io/apimachinery``.

This module has its own wire-format reader and its own field-number schema
(:data:`SCHEMA`), written for the kinds the sandbox serves. :func:`decode`
returns what the same object looks like as JSON from kubectl:

* camelCase keys, ``apiVersion``/``kind`` from the TypeMeta;
* scalars that Go marks ``omitempty`` are left out when zero ("" / 0 / false),
  but fields that are pointers in Go (``replicas``, ``suspend``, ...) or have no
  ``omitempty`` (``containerPort``, container ``name``, ...) are kept when sent,
  even as zero - the Go encoder only sends pointer fields that are set;
* nested messages that are on the wire are kept, even empty: Go's JSON encoder
  writes ``"resources": {}``, ``"strategy": {}``, ``"status": {}`` for the same
  object, because non-pointer structs are never omitted;
* ``metav1.Time`` as RFC 3339 ``YYYY-MM-DDTHH:MM:SSZ``, the zero time left out
  (kubectl 1.37 omits it, 1.32 printed ``null``);
* ``IntOrString`` as int or str, ``resource.Quantity`` as its string,
  ``[]byte`` (``Secret.data``, ``ConfigMap.binaryData``) as base64, maps as objects.

Any malformed body raises :class:`ProtobufError` (answered 400); a kind missing
from the schema raises it with ``unsupported=True`` (answered 415). Nothing else
escapes, lengths are checked against the bytes actually present before use, and
every loop advances, so forged input can neither hang the decoder nor make it
allocate more than the body's size.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
from collections.abc import Iterator
from typing import Any, NamedTuple

__all__ = ["MAGIC", "SCHEMA", "SUPPORTED_KINDS", "ProtobufError", "decode"]

MAGIC = b"k8s\x00"


class ProtobufError(Exception):
    """Malformed body (server answers 400) or unsupported kind (server answers 415)."""

    def __init__(self, message: str, *, unsupported: bool = False, kind: str | None = None):
        super().__init__(message)
        self.message = message
        self.unsupported = unsupported
        self.kind = kind


# --------------------------------------------------------------------------- schema

class Field(NamedTuple):
    """One field of a message.

    Attributes:
        json: The JSON key.
        type: ``str``, ``bytes``, ``int32``, ``int64``, ``bool``, ``time``
            (metav1.Time), ``qty`` (resource.Quantity), ``intstr``
            (util/intstr.IntOrString), ``fieldsv1`` (metav1.FieldsV1),
            ``map<str>``, ``map<bytes>``, ``map<qty>`` (string-keyed maps), or
            the name of another message in :data:`SCHEMA`.
        repeated: A list.
        keep: Kept even when zero: the Go field is a pointer (sent only when
            set) or has no ``omitempty``.
        inline: An embedded Go struct (``json:",inline"``): its fields are
            merged into the parent object.
    """

    json: str
    type: str
    repeated: bool = False
    keep: bool = False
    inline: bool = False


# Field lines: "<number> <jsonName> [<type>] [r] [k] [i]"; type defaults to str;
# r = repeated, k = keep when zero, i = inline. Fields are listed in Go struct
# order, which is the key order of the decoded object. Numbers are those of
# k8s.io/api {core,apps,batch}/v1 and k8s.io/apimachinery generated.proto.
_SPEC: dict[str, str] = {
    # ---- k8s.io/apimachinery/pkg/apis/meta/v1
    "ObjectMeta": """1 name; 2 generateName; 3 namespace; 4 selfLink; 5 uid; 6 resourceVersion;
        7 generation int64; 8 creationTimestamp time; 9 deletionTimestamp time;
        10 deletionGracePeriodSeconds int64 k; 11 labels map<str>; 12 annotations map<str>;
        13 ownerReferences OwnerReference r; 14 finalizers str r; 17 managedFields ManagedFieldsEntry r""",
    "OwnerReference": "5 apiVersion k; 1 kind k; 3 name k; 4 uid k; 6 controller bool k; 7 blockOwnerDeletion bool k",
    "ManagedFieldsEntry": """1 manager; 2 operation; 3 apiVersion; 4 time time; 6 fieldsType;
        7 fieldsV1 fieldsv1; 8 subresource""",
    "LabelSelector": "1 matchLabels map<str>; 2 matchExpressions LabelSelectorRequirement r",
    "LabelSelectorRequirement": "1 key k; 2 operator k; 3 values str r",
    "Condition": """1 type k; 2 status k; 3 observedGeneration int64; 4 lastTransitionTime time;
        5 reason k; 6 message k""",
    # ---- core/v1: objects
    "Namespace": "1 metadata ObjectMeta; 2 spec NamespaceSpec; 3 status NamespaceStatus",
    "NamespaceSpec": "1 finalizers str r",
    "NamespaceStatus": "1 phase; 2 conditions NamespaceCondition r",
    "NamespaceCondition": "1 type k; 2 status k; 4 lastTransitionTime time; 5 reason; 6 message",
    "ConfigMap": "1 metadata ObjectMeta; 4 immutable bool k; 2 data map<str>; 3 binaryData map<bytes>",
    "Secret": "1 metadata ObjectMeta; 5 immutable bool k; 2 data map<bytes>; 4 stringData map<str>; 3 type",
    "ServiceAccount": """1 metadata ObjectMeta; 2 secrets ObjectReference r;
        3 imagePullSecrets LocalObjectReference r; 4 automountServiceAccountToken bool k""",
    "ObjectReference": "1 kind; 2 namespace; 3 name; 4 uid; 5 apiVersion; 6 resourceVersion; 7 fieldPath",
    "LocalObjectReference": "1 name",
    "Service": "1 metadata ObjectMeta; 2 spec ServiceSpec; 3 status ServiceStatus",
    "ServiceSpec": """1 ports ServicePort r; 2 selector map<str>; 3 clusterIP; 18 clusterIPs str r; 4 type;
        5 externalIPs str r; 7 sessionAffinity; 8 loadBalancerIP; 9 loadBalancerSourceRanges str r;
        10 externalName; 11 externalTrafficPolicy; 12 healthCheckNodePort int32;
        13 publishNotReadyAddresses bool; 14 sessionAffinityConfig SessionAffinityConfig;
        19 ipFamilies str r; 17 ipFamilyPolicy k; 20 allocateLoadBalancerNodePorts bool k;
        21 loadBalancerClass k; 22 internalTrafficPolicy k; 23 trafficDistribution k""",
    "ServicePort": "1 name; 2 protocol; 6 appProtocol k; 3 port int32 k; 4 targetPort intstr; 5 nodePort int32",
    "SessionAffinityConfig": "1 clientIP ClientIPConfig",
    "ClientIPConfig": "1 timeoutSeconds int32 k",
    "ServiceStatus": "1 loadBalancer LoadBalancerStatus; 2 conditions Condition r",
    "LoadBalancerStatus": "1 ingress LoadBalancerIngress r",
    "LoadBalancerIngress": "1 ip; 2 hostname; 3 ipMode k; 4 ports PortStatus r",
    "PortStatus": "1 port int32 k; 2 protocol k; 3 error k",
    "Pod": "1 metadata ObjectMeta; 2 spec PodSpec; 3 status PodStatus",
    "PodTemplateSpec": "1 metadata ObjectMeta; 2 spec PodSpec",
    # ---- core/v1: pod spec
    "PodSpec": """1 volumes Volume r; 20 initContainers Container r; 2 containers Container r;
        34 ephemeralContainers EphemeralContainer r; 3 restartPolicy;
        4 terminationGracePeriodSeconds int64 k; 5 activeDeadlineSeconds int64 k; 6 dnsPolicy;
        7 nodeSelector map<str>; 8 serviceAccountName; 9 serviceAccount;
        21 automountServiceAccountToken bool k; 10 nodeName; 11 hostNetwork bool; 12 hostPID bool;
        13 hostIPC bool; 27 shareProcessNamespace bool k; 14 securityContext PodSecurityContext;
        15 imagePullSecrets LocalObjectReference r; 16 hostname; 17 subdomain; 18 affinity Affinity;
        19 schedulerName; 22 tolerations Toleration r; 23 hostAliases HostAlias r; 24 priorityClassName;
        25 priority int32 k; 26 dnsConfig PodDNSConfig; 28 readinessGates PodReadinessGate r;
        29 runtimeClassName k; 30 enableServiceLinks bool k; 31 preemptionPolicy k; 32 overhead map<qty>;
        33 topologySpreadConstraints TopologySpreadConstraint r; 35 setHostnameAsFQDN bool k; 36 os PodOS;
        37 hostUsers bool k; 38 schedulingGates PodSchedulingGate r; 39 resourceClaims PodResourceClaim r;
        40 resources ResourceRequirements; 41 hostnameOverride k""",
    "Container": """1 name k; 2 image; 3 command str r; 4 args str r; 5 workingDir; 6 ports ContainerPort r;
        19 envFrom EnvFromSource r; 7 env EnvVar r; 8 resources ResourceRequirements;
        23 resizePolicy ContainerResizePolicy r; 24 restartPolicy k; 25 restartPolicyRules ContainerRestartRule r;
        9 volumeMounts VolumeMount r; 21 volumeDevices VolumeDevice r; 10 livenessProbe Probe;
        11 readinessProbe Probe; 22 startupProbe Probe; 12 lifecycle Lifecycle; 13 terminationMessagePath;
        20 terminationMessagePolicy; 14 imagePullPolicy; 15 securityContext SecurityContext; 16 stdin bool;
        17 stdinOnce bool; 18 tty bool""",
    "EphemeralContainer": "1 ephemeralContainerCommon Container i; 2 targetContainerName",
    "ContainerPort": "1 name; 2 hostPort int32; 3 containerPort int32 k; 4 protocol; 5 hostIP",
    "ContainerResizePolicy": "1 resourceName k; 2 restartPolicy k",
    "ContainerRestartRule": "1 action k; 2 exitCodes ContainerRestartRuleOnExitCodes",
    "ContainerRestartRuleOnExitCodes": "1 operator k; 2 values int32 r",
    "EnvFromSource": "1 prefix; 2 configMapRef ConfigMapEnvSource; 3 secretRef SecretEnvSource",
    "ConfigMapEnvSource": "1 localObjectReference LocalObjectReference i; 2 optional bool k",
    "SecretEnvSource": "1 localObjectReference LocalObjectReference i; 2 optional bool k",
    "EnvVar": "1 name k; 2 value; 3 valueFrom EnvVarSource",
    "EnvVarSource": """1 fieldRef ObjectFieldSelector; 2 resourceFieldRef ResourceFieldSelector;
        3 configMapKeyRef ConfigMapKeySelector; 4 secretKeyRef SecretKeySelector; 5 fileKeyRef FileKeySelector""",
    "ObjectFieldSelector": "1 apiVersion; 2 fieldPath k",
    "ResourceFieldSelector": "1 containerName; 2 resource k; 3 divisor qty",
    "ConfigMapKeySelector": "1 localObjectReference LocalObjectReference i; 2 key k; 3 optional bool k",
    "SecretKeySelector": "1 localObjectReference LocalObjectReference i; 2 key k; 3 optional bool k",
    "FileKeySelector": "1 volumeName k; 2 path k; 3 key k; 4 optional bool k",
    "ResourceRequirements": "1 limits map<qty>; 2 requests map<qty>; 3 claims ResourceClaim r",
    "ResourceClaim": "1 name k; 2 request",
    "VolumeMount": """1 name k; 2 readOnly bool; 7 recursiveReadOnly k; 3 mountPath k; 4 subPath;
        5 mountPropagation k; 6 subPathExpr""",
    "VolumeDevice": "1 name k; 2 devicePath k",
    "Probe": """1 handler ProbeHandler i; 2 initialDelaySeconds int32; 3 timeoutSeconds int32;
        4 periodSeconds int32; 5 successThreshold int32; 6 failureThreshold int32;
        7 terminationGracePeriodSeconds int64 k""",
    "ProbeHandler": "1 exec ExecAction; 2 httpGet HTTPGetAction; 3 tcpSocket TCPSocketAction; 4 grpc GRPCAction",
    "ExecAction": "1 command str r",
    "HTTPGetAction": "1 path; 2 port intstr; 3 host; 4 scheme; 5 httpHeaders HTTPHeader r",
    "HTTPHeader": "1 name k; 2 value k",
    "TCPSocketAction": "1 port intstr; 2 host",
    "GRPCAction": "1 port int32 k; 2 service k",
    "Lifecycle": "1 postStart LifecycleHandler; 2 preStop LifecycleHandler; 3 stopSignal k",
    "LifecycleHandler": "1 exec ExecAction; 2 httpGet HTTPGetAction; 3 tcpSocket TCPSocketAction; 4 sleep SleepAction",
    "SleepAction": "1 seconds int64 k",
    "SecurityContext": """1 capabilities Capabilities; 2 privileged bool k; 3 seLinuxOptions SELinuxOptions;
        10 windowsOptions WindowsSecurityContextOptions; 4 runAsUser int64 k; 8 runAsGroup int64 k;
        5 runAsNonRoot bool k; 6 readOnlyRootFilesystem bool k; 7 allowPrivilegeEscalation bool k;
        9 procMount k; 11 seccompProfile SeccompProfile; 12 appArmorProfile AppArmorProfile; 13 ulimits Ulimit r""",
    "PodSecurityContext": """1 seLinuxOptions SELinuxOptions; 8 windowsOptions WindowsSecurityContextOptions;
        2 runAsUser int64 k; 6 runAsGroup int64 k; 3 runAsNonRoot bool k; 4 supplementalGroups int64 r;
        12 supplementalGroupsPolicy k; 5 fsGroup int64 k; 7 sysctls Sysctl r; 9 fsGroupChangePolicy k;
        10 seccompProfile SeccompProfile; 11 appArmorProfile AppArmorProfile; 13 seLinuxChangePolicy k""",
    "Capabilities": "1 add str r; 2 drop str r",
    "SELinuxOptions": "1 user; 2 role; 3 type; 4 level",
    "WindowsSecurityContextOptions": """1 gmsaCredentialSpecName k; 2 gmsaCredentialSpec k; 3 runAsUserName k;
        4 hostProcess bool k""",
    "SeccompProfile": "1 type k; 2 localhostProfile k",
    "AppArmorProfile": "1 type k; 2 localhostProfile k",
    "Ulimit": "1 name k; 2 hard int64 k; 3 soft int64 k",
    "Sysctl": "1 name k; 2 value k",
    "Toleration": "1 key; 2 operator; 3 value; 4 effect; 5 tolerationSeconds int64 k",
    "HostAlias": "1 ip k; 2 hostnames str r",
    "PodDNSConfig": "1 nameservers str r; 2 searches str r; 3 options PodDNSConfigOption r",
    "PodDNSConfigOption": "1 name; 2 value k",
    "PodReadinessGate": "1 conditionType k",
    "PodOS": "1 name k",
    "PodSchedulingGate": "1 name k",
    "PodResourceClaim": "1 name k; 3 resourceClaimName k; 4 resourceClaimTemplateName k",
    "TopologySpreadConstraint": """1 maxSkew int32 k; 2 topologyKey k; 3 whenUnsatisfiable k;
        4 labelSelector LabelSelector; 5 minDomains int32 k; 6 nodeAffinityPolicy k; 7 nodeTaintsPolicy k;
        8 matchLabelKeys str r""",
    "Affinity": "1 nodeAffinity NodeAffinity; 2 podAffinity PodAffinity; 3 podAntiAffinity PodAntiAffinity",
    "NodeAffinity": """1 requiredDuringSchedulingIgnoredDuringExecution NodeSelector;
        2 preferredDuringSchedulingIgnoredDuringExecution PreferredSchedulingTerm r""",
    "NodeSelector": "1 nodeSelectorTerms NodeSelectorTerm r",
    "NodeSelectorTerm": "1 matchExpressions NodeSelectorRequirement r; 2 matchFields NodeSelectorRequirement r",
    "NodeSelectorRequirement": "1 key k; 2 operator k; 3 values str r",
    "PreferredSchedulingTerm": "1 weight int32 k; 2 preference NodeSelectorTerm",
    "PodAffinity": """1 requiredDuringSchedulingIgnoredDuringExecution PodAffinityTerm r;
        2 preferredDuringSchedulingIgnoredDuringExecution WeightedPodAffinityTerm r""",
    "PodAntiAffinity": """1 requiredDuringSchedulingIgnoredDuringExecution PodAffinityTerm r;
        2 preferredDuringSchedulingIgnoredDuringExecution WeightedPodAffinityTerm r""",
    "PodAffinityTerm": """1 labelSelector LabelSelector; 2 namespaces str r; 3 topologyKey k;
        4 namespaceSelector LabelSelector; 5 matchLabelKeys str r; 6 mismatchLabelKeys str r""",
    "WeightedPodAffinityTerm": "1 weight int32 k; 2 podAffinityTerm PodAffinityTerm",
    # ---- core/v1: volumes
    "Volume": "1 name k; 2 volumeSource VolumeSource i",
    "VolumeSource": """1 hostPath HostPathVolumeSource; 2 emptyDir EmptyDirVolumeSource; 6 secret SecretVolumeSource;
        7 nfs NFSVolumeSource; 10 persistentVolumeClaim PersistentVolumeClaimVolumeSource;
        16 downwardAPI DownwardAPIVolumeSource; 19 configMap ConfigMapVolumeSource;
        26 projected ProjectedVolumeSource; 28 csi CSIVolumeSource; 29 ephemeral EphemeralVolumeSource;
        30 image ImageVolumeSource""",
    "HostPathVolumeSource": "1 path k; 2 type k",
    "EmptyDirVolumeSource": "1 medium; 2 sizeLimit qty",
    "SecretVolumeSource": "1 secretName; 2 items KeyToPath r; 3 defaultMode int32 k; 4 optional bool k",
    "ConfigMapVolumeSource": """1 localObjectReference LocalObjectReference i; 2 items KeyToPath r;
        3 defaultMode int32 k; 4 optional bool k""",
    "KeyToPath": "1 key k; 2 path k; 3 mode int32 k",
    "NFSVolumeSource": "1 server k; 2 path k; 3 readOnly bool",
    "PersistentVolumeClaimVolumeSource": "1 claimName k; 2 readOnly bool",
    "DownwardAPIVolumeSource": "1 items DownwardAPIVolumeFile r; 2 defaultMode int32 k",
    "DownwardAPIVolumeFile": """1 path k; 2 fieldRef ObjectFieldSelector; 3 resourceFieldRef ResourceFieldSelector;
        4 mode int32 k""",
    "ProjectedVolumeSource": "1 sources VolumeProjection r; 2 defaultMode int32 k",
    "VolumeProjection": """1 secret SecretProjection; 2 downwardAPI DownwardAPIProjection;
        3 configMap ConfigMapProjection; 4 serviceAccountToken ServiceAccountTokenProjection""",
    "SecretProjection": "1 localObjectReference LocalObjectReference i; 2 items KeyToPath r; 4 optional bool k",
    "ConfigMapProjection": "1 localObjectReference LocalObjectReference i; 2 items KeyToPath r; 4 optional bool k",
    "DownwardAPIProjection": "1 items DownwardAPIVolumeFile r",
    "ServiceAccountTokenProjection": "1 audience; 2 expirationSeconds int64 k; 3 path k",
    "CSIVolumeSource": """1 driver k; 2 readOnly bool k; 3 fsType k; 4 volumeAttributes map<str>;
        5 nodePublishSecretRef LocalObjectReference""",
    "EphemeralVolumeSource": "1 volumeClaimTemplate PersistentVolumeClaimTemplate",
    "PersistentVolumeClaimTemplate": "1 metadata ObjectMeta; 2 spec PersistentVolumeClaimSpec",
    "PersistentVolumeClaimSpec": """1 accessModes str r; 4 selector LabelSelector;
        2 resources VolumeResourceRequirements; 3 volumeName; 5 storageClassName k; 6 volumeMode k;
        7 dataSource TypedLocalObjectReference; 8 dataSourceRef TypedObjectReference; 9 volumeAttributesClassName k""",
    "VolumeResourceRequirements": "1 limits map<qty>; 2 requests map<qty>",
    "TypedLocalObjectReference": "1 apiGroup k; 2 kind k; 3 name k",
    "TypedObjectReference": "1 apiGroup k; 2 kind k; 3 name k; 4 namespace k",
    "ImageVolumeSource": "1 reference; 2 pullPolicy",
    # ---- core/v1: pod status
    "PodStatus": """17 observedGeneration int64; 1 phase; 2 conditions PodCondition r; 3 message; 4 reason;
        11 nominatedNodeName; 5 hostIP; 16 hostIPs HostIP r; 6 podIP; 12 podIPs PodIP r; 7 startTime time;
        10 initContainerStatuses ContainerStatus r; 8 containerStatuses ContainerStatus r; 9 qosClass;
        13 ephemeralContainerStatuses ContainerStatus r; 14 resize""",
    "PodCondition": """1 type k; 7 observedGeneration int64; 2 status k; 3 lastProbeTime time;
        4 lastTransitionTime time; 5 reason; 6 message""",
    "HostIP": "1 ip k",
    "PodIP": "1 ip k",
    "ContainerStatus": """1 name k; 2 state ContainerState; 3 lastState ContainerState; 4 ready bool k;
        5 restartCount int32 k; 6 image k; 7 imageID k; 8 containerID; 9 started bool k;
        10 allocatedResources map<qty>; 11 resources ResourceRequirements; 15 stopSignal k""",
    "ContainerState": """1 waiting ContainerStateWaiting; 2 running ContainerStateRunning;
        3 terminated ContainerStateTerminated""",
    "ContainerStateWaiting": "1 reason; 2 message",
    "ContainerStateRunning": "1 startedAt time",
    "ContainerStateTerminated": """1 exitCode int32 k; 2 signal int32; 3 reason; 4 message; 5 startedAt time;
        6 finishedAt time; 7 containerID""",
    # ---- apps/v1
    "Deployment": "1 metadata ObjectMeta; 2 spec DeploymentSpec; 3 status DeploymentStatus",
    "DeploymentSpec": """1 replicas int32 k; 2 selector LabelSelector; 3 template PodTemplateSpec;
        4 strategy DeploymentStrategy; 5 minReadySeconds int32; 6 revisionHistoryLimit int32 k; 7 paused bool;
        9 progressDeadlineSeconds int32 k; 10 podReplacementPolicy k""",
    "DeploymentStrategy": "1 type; 2 rollingUpdate RollingUpdateDeployment",
    "RollingUpdateDeployment": "1 maxUnavailable intstr; 2 maxSurge intstr",
    "DeploymentStatus": """1 observedGeneration int64; 2 replicas int32; 3 updatedReplicas int32;
        7 readyReplicas int32; 4 availableReplicas int32; 5 unavailableReplicas int32;
        9 terminatingReplicas int32 k; 6 conditions DeploymentCondition r; 8 collisionCount int32 k""",
    "DeploymentCondition": """1 type k; 2 status k; 6 lastUpdateTime time; 7 lastTransitionTime time;
        4 reason; 5 message""",
    "ReplicaSet": "1 metadata ObjectMeta; 2 spec ReplicaSetSpec; 3 status ReplicaSetStatus",
    "ReplicaSetSpec": """1 replicas int32 k; 4 minReadySeconds int32; 2 selector LabelSelector;
        3 template PodTemplateSpec""",
    "ReplicaSetStatus": """1 replicas int32 k; 2 fullyLabeledReplicas int32; 4 readyReplicas int32;
        5 availableReplicas int32; 7 terminatingReplicas int32 k; 3 observedGeneration int64;
        6 conditions ReplicaSetCondition r""",
    "ReplicaSetCondition": "1 type k; 2 status k; 3 lastTransitionTime time; 4 reason; 5 message",
    # ---- batch/v1
    "Job": "1 metadata ObjectMeta; 2 spec JobSpec; 3 status JobStatus",
    "JobSpec": """1 parallelism int32 k; 2 completions int32 k; 3 activeDeadlineSeconds int64 k;
        11 podFailurePolicy PodFailurePolicy; 16 successPolicy SuccessPolicy; 7 backoffLimit int32 k;
        12 backoffLimitPerIndex int32 k; 13 maxFailedIndexes int32 k; 4 selector LabelSelector;
        5 manualSelector bool k; 6 template PodTemplateSpec; 8 ttlSecondsAfterFinished int32 k;
        9 completionMode k; 10 suspend bool k; 14 podReplacementPolicy k; 15 managedBy k""",
    "JobStatus": """1 conditions JobCondition r; 2 startTime time; 3 completionTime time; 4 active int32;
        5 succeeded int32; 6 failed int32; 11 terminating int32 k; 7 completedIndexes; 10 failedIndexes k;
        8 uncountedTerminatedPods UncountedTerminatedPods; 9 ready int32 k""",
    "JobCondition": """1 type k; 2 status k; 3 lastProbeTime time; 4 lastTransitionTime time; 5 reason;
        6 message""",
    "UncountedTerminatedPods": "1 succeeded str r; 2 failed str r",
    "PodFailurePolicy": "1 rules PodFailurePolicyRule r",
    "PodFailurePolicyRule": """1 action k; 2 onExitCodes PodFailurePolicyOnExitCodesRequirement;
        3 onPodConditions PodFailurePolicyOnPodConditionsPattern r""",
    "PodFailurePolicyOnExitCodesRequirement": "1 containerName k; 2 operator k; 3 values int32 r",
    "PodFailurePolicyOnPodConditionsPattern": "1 type k; 2 status k",
    "SuccessPolicy": "1 rules SuccessPolicyRule r",
    "SuccessPolicyRule": "1 succeededIndexes k; 2 succeededCount int32 k",
    "JobTemplateSpec": "1 metadata ObjectMeta; 2 spec JobSpec",
    "CronJob": "1 metadata ObjectMeta; 2 spec CronJobSpec; 3 status CronJobStatus",
    "CronJobSpec": """1 schedule k; 8 timeZone k; 2 startingDeadlineSeconds int64 k; 3 concurrencyPolicy;
        4 suspend bool k; 5 jobTemplate JobTemplateSpec; 6 successfulJobsHistoryLimit int32 k;
        7 failedJobsHistoryLimit int32 k""",
    "CronJobStatus": "1 active ObjectReference r; 4 lastScheduleTime time; 5 lastSuccessfulTime time",
}

_SCALARS = frozenset({"str", "bytes", "int32", "int64", "bool"})
_SPECIAL = frozenset({"time", "qty", "intstr", "fieldsv1", "map<str>", "map<bytes>", "map<qty>"})


def _parse_spec(spec: dict[str, str]) -> dict[str, dict[int, Field]]:
    """Turn the field lines of :data:`_SPEC` into :data:`SCHEMA`, checking them."""
    schema: dict[str, dict[int, Field]] = {}
    for message, text in spec.items():
        fields: dict[int, Field] = {}
        for line in text.split(";"):
            words = line.split()
            number, name, rest = int(words[0]), words[1], words[2:]
            ftype = rest.pop(0) if rest and rest[0] not in ("r", "k", "i") else "str"
            flags = set(rest)
            if number < 1 or number in fields or not flags <= {"r", "k", "i"}:
                raise ValueError(f"bad schema line for {message}: {line!r}")
            fields[number] = Field(name, ftype, "r" in flags, "k" in flags, "i" in flags)
        schema[message] = fields
    for message, fields in schema.items():
        for f in fields.values():
            if f.type not in _SCALARS and f.type not in _SPECIAL and f.type not in schema:
                raise ValueError(f"{message}.{f.json}: unknown type {f.type}")
            if f.inline and (f.type not in schema or f.repeated):
                raise ValueError(f"{message}.{f.json}: only single messages can be inline")
    return schema


#: message name -> {field number: Field}
SCHEMA: dict[str, dict[int, Field]] = _parse_spec(_SPEC)

#: (apiVersion, kind) -> top-level message name, for the kinds :func:`decode` accepts.
SUPPORTED_KINDS: dict[tuple[str, str], str] = {
    ("v1", "Pod"): "Pod",
    ("v1", "Service"): "Service",
    ("v1", "Namespace"): "Namespace",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("apps/v1", "Deployment"): "Deployment",
    ("apps/v1", "ReplicaSet"): "ReplicaSet",
    ("batch/v1", "Job"): "Job",
    ("batch/v1", "CronJob"): "CronJob",
}


# --------------------------------------------------------------------------- wire format

_VARINT, _FIXED64, _LEN, _START_GROUP, _END_GROUP, _FIXED32 = 0, 1, 2, 3, 4, 5
_U64 = 1 << 64


def _read_varint(buf: bytes, pos: int, end: int, where: str) -> tuple[int, int]:
    """Read an unsigned varint (at most 10 bytes, at most 2**64 - 1) at ``pos``."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ProtobufError(f"malformed protobuf body: truncated varint in {where}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            if result >= _U64:
                raise ProtobufError(f"malformed protobuf body: varint overflows 64 bits in {where}")
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError(f"malformed protobuf body: varint longer than 10 bytes in {where}")


def _fields(buf: bytes, start: int, end: int, where: str) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(field number, wire type, value)`` for each field in ``buf[start:end]``.

    The value is an ``int`` for varint and fixed-width fields and a ``(start, end)``
    span for length-delimited ones. Groups (wire types 3 and 4) are rejected:
    Kubernetes messages never use them.
    """
    pos = start
    value: int | tuple[int, int]
    while pos < end:
        key, pos = _read_varint(buf, pos, end, where)
        number, wire = key >> 3, key & 7
        if number == 0 or number > 0x1FFFFFFF:
            raise ProtobufError(f"malformed protobuf body: invalid field number {number} in {where}")
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos, end, where)
        elif wire == _LEN:
            length, pos = _read_varint(buf, pos, end, where)
            if length > end - pos:
                raise ProtobufError(f"malformed protobuf body: field {number} of {where} claims {length} bytes, "
                                    f"{end - pos} left")
            value = (pos, pos + length)
            pos += length
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            if size > end - pos:
                raise ProtobufError(f"malformed protobuf body: truncated fixed-width field {number} in {where}")
            value = int.from_bytes(buf[pos:pos + size], "little")
            pos += size
        else:
            raise ProtobufError(f"malformed protobuf body: unsupported wire type {wire} for field {number} in {where}")
        yield number, wire, value


def _int64(v: int) -> int:
    return v - _U64 if v >= 1 << 63 else v


def _int32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _text(buf: bytes, span: tuple[int, int], where: str) -> str:
    try:
        return buf[span[0]:span[1]].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError(f"malformed protobuf body: invalid UTF-8 in {where}") from None


# --------------------------------------------------------------------------- special types

# Go's zero time.Time encodes as an empty message; a Timestamp of 0001-01-01T00:00:00Z is zero too.
_ZERO_TIME_SECONDS = -62135596800
_MAX_TIME_SECONDS = 253402300799  # 9999-12-31T23:59:59Z; Go refuses to write later years as JSON
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _time(buf: bytes, start: int, end: int, where: str) -> str | None:
    """A metav1.Time (Timestamp: 1 seconds, 2 nanos) as RFC 3339 seconds, ``None`` when zero."""
    seconds = nanos = 0
    for number, wire, value in _fields(buf, start, end, where):
        if number in (1, 2):
            if wire != _VARINT:
                raise ProtobufError(f"malformed protobuf body: wrong wire type for {where}")
            if number == 1:
                seconds = _int64(value)
            else:
                nanos = _int32(value)
    seconds += nanos // 1_000_000_000  # Go normalises nanos outside [0, 1e9) into the seconds
    if start == end or (seconds == _ZERO_TIME_SECONDS and nanos % 1_000_000_000 == 0):
        return None
    if not _ZERO_TIME_SECONDS <= seconds <= _MAX_TIME_SECONDS:
        raise ProtobufError(f"malformed protobuf body: time out of range in {where}")
    stamp = _EPOCH + _dt.timedelta(seconds=seconds)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _quantity(buf: bytes, start: int, end: int, where: str) -> str:
    """A resource.Quantity (1 string) as its string; an empty one is ``"0"``."""
    text = ""
    for number, wire, value in _fields(buf, start, end, where):
        if number == 1:
            if wire != _LEN:
                raise ProtobufError(f"malformed protobuf body: wrong wire type for {where}")
            text = _text(buf, value, where)
    return text or "0"


def _int_or_string(buf: bytes, start: int, end: int, where: str) -> int | str:
    """An IntOrString (1 type: 0 int / 1 string, 2 intVal, 3 strVal) as int or str."""
    kind = int_val = 0
    str_val = ""
    for number, wire, value in _fields(buf, start, end, where):
        if number in (1, 2):
            if wire != _VARINT:
                raise ProtobufError(f"malformed protobuf body: wrong wire type for {where}")
            if number == 1:
                kind = _int64(value)
            else:
                int_val = _int32(value)
        elif number == 3:
            if wire != _LEN:
                raise ProtobufError(f"malformed protobuf body: wrong wire type for {where}")
            str_val = _text(buf, value, where)
    if kind == 0:
        return int_val
    if kind == 1:
        return str_val
    raise ProtobufError(f"malformed protobuf body: IntOrString type {kind} in {where}")


def _fields_v1(buf: bytes, start: int, end: int, where: str) -> Any:
    """A metav1.FieldsV1 (1 raw JSON bytes) as the JSON value it holds."""
    raw = b""
    for number, wire, value in _fields(buf, start, end, where):
        if number == 1:
            if wire != _LEN:
                raise ProtobufError(f"malformed protobuf body: wrong wire type for {where}")
            raw = buf[value[0]:value[1]]
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtobufError(f"malformed protobuf body: {where} is not JSON") from None


def _map_entry(buf: bytes, span: tuple[int, int], vtype: str, where: str) -> tuple[str, Any]:
    """One map entry (1 key string, 2 value) of a ``map<str|bytes|qty>`` field."""
    key = ""
    value: Any = "0" if vtype == "map<qty>" else ""
    for number, wire, raw in _fields(buf, span[0], span[1], where):
        if number not in (1, 2):
            continue
        if wire != _LEN:
            raise ProtobufError(f"malformed protobuf body: wrong wire type in map entry of {where}")
        if number == 1:
            key = _text(buf, raw, where)
        elif vtype == "map<str>":
            value = _text(buf, raw, f"{where}[{key!r}]")
        elif vtype == "map<bytes>":
            value = base64.b64encode(buf[raw[0]:raw[1]]).decode("ascii")
        else:
            value = _quantity(buf, raw[0], raw[1], f"{where}[{key!r}]")
    return key, value


# --------------------------------------------------------------------------- messages

def _scalar(f: Field, wire: int, value: Any, buf: bytes, where: str) -> Any:
    """The JSON value of one scalar field occurrence."""
    if f.type in ("str", "bytes"):
        if wire != _LEN:
            raise ProtobufError(f"malformed protobuf body: wrong wire type {wire} for {where}")
        if f.type == "str":
            return _text(buf, value, where)
        return base64.b64encode(buf[value[0]:value[1]]).decode("ascii")
    if wire != _VARINT:
        raise ProtobufError(f"malformed protobuf body: wrong wire type {wire} for {where}")
    if f.type == "int64":
        return _int64(value)
    if f.type == "int32":
        return _int32(value)
    return value != 0


def _packed(f: Field, span: tuple[int, int], buf: bytes, where: str) -> list[Any]:
    """The items of a packed repeated varint field."""
    items: list[Any] = []
    pos, end = span
    while pos < end:
        value, pos = _read_varint(buf, pos, end, where)
        items.append(_scalar(f, _VARINT, value, buf, where))
    return items


def _single(f: Field, buf: bytes, start: int, end: int, where: str) -> Any:
    """The JSON value of a message-typed field held in ``buf[start:end]``."""
    if f.type == "time":
        return _time(buf, start, end, where)
    if f.type == "qty":
        return _quantity(buf, start, end, where)
    if f.type == "intstr":
        return _int_or_string(buf, start, end, where)
    if f.type == "fieldsv1":
        return _fields_v1(buf, start, end, where)
    return _message(f.type, buf, start, end, where)


def _is_zero(value: Any) -> bool:
    return value is None or value == "" or value is False or (type(value) is int and value == 0)


def _message(name: str, buf: bytes, start: int, end: int, where: str) -> dict[str, Any]:
    """Decode ``buf[start:end]`` as message ``name`` into its JSON object."""
    schema = SCHEMA[name]
    scalars: dict[int, Any] = {}
    lists: dict[int, list[Any]] = {}
    maps: dict[int, dict[str, Any]] = {}
    spans: dict[int, list[tuple[int, int]]] = {}
    for number, wire, value in _fields(buf, start, end, where or "the object"):
        f = schema.get(number)
        if f is None:
            continue  # unknown field (newer kubectl): skipped, as Go's decoder does
        here = f"{where}.{f.json}" if where else f.json
        if f.type.startswith("map<"):
            if wire != _LEN:
                raise ProtobufError(f"malformed protobuf body: wrong wire type {wire} for {here}")
            key, item = _map_entry(buf, value, f.type, here)
            maps.setdefault(number, {})[key] = item
        elif f.type in _SCALARS:
            if f.repeated:
                items = lists.setdefault(number, [])
                if wire == _LEN and f.type not in ("str", "bytes"):
                    items.extend(_packed(f, value, buf, here))
                else:
                    items.append(_scalar(f, wire, value, buf, f"{here}[{len(items)}]"))
            else:
                scalars[number] = _scalar(f, wire, value, buf, here)
        else:
            if wire != _LEN:
                raise ProtobufError(f"malformed protobuf body: wrong wire type {wire} for {here}")
            if f.repeated:
                items = lists.setdefault(number, [])
                items.append(_single(f, buf, value[0], value[1], f"{here}[{len(items)}]"))
            else:
                spans.setdefault(number, []).append(value)

    out: dict[str, Any] = {}
    for number, f in schema.items():
        if number in maps:
            out[f.json] = maps[number]
        elif number in lists:
            if lists[number]:
                out[f.json] = lists[number]
        elif number in scalars:
            if f.keep or not _is_zero(scalars[number]):
                out[f.json] = scalars[number]
        elif number in spans:
            here = f"{where}.{f.json}" if where else f.json
            parts = spans[number]
            if len(parts) == 1:
                value = _single(f, buf, parts[0][0], parts[0][1], here)
            else:  # a repeated singular message merges, as if its parts were concatenated
                joined = b"".join(buf[s:e] for s, e in parts)
                value = _single(f, joined, 0, len(joined), here)
            if f.inline:
                out.update(value)
            elif value is not None:
                out[f.json] = value
    return out


# --------------------------------------------------------------------------- entry point

def _unknown(body: bytes) -> tuple[str, str, tuple[int, int] | None, str, str]:
    """Parse the runtime.Unknown envelope after the magic: apiVersion, kind, raw span, encoding, type."""
    api_version = kind = encoding = content_type = ""
    raw: tuple[int, int] | None = None
    start = len(MAGIC)
    for number, wire, value in _fields(body, start, len(body), "the runtime.Unknown envelope"):
        if number == 1:
            if wire != _LEN:
                raise ProtobufError("malformed protobuf body: wrong wire type for typeMeta")
            for tnum, twire, tval in _fields(body, value[0], value[1], "typeMeta"):
                if tnum in (1, 2):
                    if twire != _LEN:
                        raise ProtobufError("malformed protobuf body: wrong wire type in typeMeta")
                    if tnum == 1:
                        api_version = _text(body, tval, "typeMeta.apiVersion")
                    else:
                        kind = _text(body, tval, "typeMeta.kind")
        elif number in (2, 3, 4):
            if wire != _LEN:
                raise ProtobufError(f"malformed protobuf body: wrong wire type for runtime.Unknown field {number}")
            if number == 2:
                raw = value
            elif number == 3:
                encoding = _text(body, value, "contentEncoding")
            else:
                content_type = _text(body, value, "contentType")
    return api_version, kind, raw, encoding, content_type


def decode(body: bytes) -> dict[str, Any]:
    """Decode a Kubernetes protobuf body into the JSON-form object.

    The result is what the same object looks like as JSON from kubectl:
    camelCase keys, ``apiVersion`` and ``kind`` set from TypeMeta, unset/empty
    optional fields omitted, int-or-string as int or str, resource quantities as
    strings, metav1.Time as RFC 3339 ``YYYY-MM-DDTHH:MM:SSZ``, ``[]byte``
    fields (``Secret.data``) as base64 strings, maps as JSON objects.

    Raises:
        ProtobufError: the body is malformed (``unsupported`` False: answer 400),
            or its kind is not one of :data:`SUPPORTED_KINDS` or it is encoded
            in a way this decoder does not read (``unsupported`` True, ``kind``
            set: answer 415).
    """
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise ProtobufError("malformed protobuf body: expected bytes")
    body = bytes(body)
    if not body.startswith(MAGIC):
        raise ProtobufError("malformed protobuf body: it does not start with the Kubernetes magic bytes k8s\\x00")
    api_version, kind, raw, encoding, content_type = _unknown(body)
    if not kind:
        raise ProtobufError("malformed protobuf body: runtime.Unknown has no typeMeta.kind")
    message = SUPPORTED_KINDS.get((api_version, kind))
    if message is None:
        raise ProtobufError(
            f'the sandbox cannot decode protobuf for kind "{kind}" (apiVersion "{api_version}"); '
            "send JSON instead (kubectl: -o json / apply -f)", unsupported=True, kind=kind)
    if encoding or content_type not in ("", "application/vnd.kubernetes.protobuf"):
        raise ProtobufError(
            f'the sandbox cannot decode protobuf for kind "{kind}" with contentEncoding "{encoding}" and '
            f'contentType "{content_type}"; send JSON instead (kubectl: -o json / apply -f)',
            unsupported=True, kind=kind)
    if raw is None:
        raise ProtobufError("malformed protobuf body: runtime.Unknown carries no object (raw)")
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    obj.update(_message(message, body, raw[0], raw[1], ""))
    return obj
