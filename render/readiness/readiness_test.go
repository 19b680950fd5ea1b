package readiness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/internal/fixtures"
)

type judgeCase struct {
	name   string
	obj    string // JSON, as Metacontroller would send it
	state  State
	reason string
	msg    string // exact message when set
}

var judgeCases = []judgeCase{
	// Cross-cutting.
	{
		name: "terminating configmap waits for its finalizers",
		obj: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"acme-web-config","namespace":"acme",
			"deletionTimestamp":"2026-11-25T20:50:00Z","finalizers":["example.com/keep"]},"data":{"a":"b"}}`,
		state: NotReady, reason: ReasonTerminating,
		msg: "deletion requested at 2026-11-25T20:50:00Z, waiting for finalizers example.com/keep",
	},
	{
		name: "terminating deployment is not ready even when fully available",
		obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":1,
			"deletionTimestamp":"2026-11-25T20:50:00Z"},"spec":{"replicas":1},
			"status":{"observedGeneration":1,"replicas":1,"updatedReplicas":1,"availableReplicas":1}}`,
		state: NotReady, reason: ReasonTerminating, msg: "deletion requested at 2026-11-25T20:50:00Z",
	},
	{
		name:  "null deletionTimestamp is not deletion",
		obj:   `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","deletionTimestamp":null}}`,
		state: Ready, reason: ReasonExists, msg: "ConfigMap exists",
	},

	// Namespace.
	{
		name:  "namespace active",
		obj:   `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"acme"},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}`,
		state: Ready, reason: ReasonNamespaceActive,
	},
	{
		name:  "namespace just created without status",
		obj:   `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"acme"}}`,
		state: NotReady, reason: ReasonNamespaceNotActive, msg: "namespace phase not reported yet",
	},
	{
		name:  "namespace terminating phase",
		obj:   `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"acme"},"status":{"phase":"Terminating"}}`,
		state: NotReady, reason: ReasonNamespaceNotActive, msg: "namespace is Terminating",
	},

	// Service.
	{
		name:  "clusterIP service",
		obj:   `{"apiVersion":"v1","kind":"Service","metadata":{"name":"acme-web"},"spec":{"type":"ClusterIP","clusterIP":"10.0.0.12","ports":[{"port":80}]},"status":{"loadBalancer":{}}}`,
		state: Ready, reason: ReasonExists, msg: "Service exists",
	},
	{
		name:  "service without type defaults to ClusterIP",
		obj:   `{"apiVersion":"v1","kind":"Service","metadata":{"name":"acme-web"},"spec":{"ports":[{"port":80}]}}`,
		state: Ready, reason: ReasonExists,
	},
	{
		name:  "loadbalancer without address",
		obj:   `{"apiVersion":"v1","kind":"Service","metadata":{"name":"acme-web"},"spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{}}}`,
		state: NotReady, reason: ReasonLoadBalancerPending,
	},
	{
		name:  "loadbalancer with empty ingress list",
		obj:   `{"apiVersion":"v1","kind":"Service","metadata":{"name":"acme-web"},"spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":[]}}}`,
		state: NotReady, reason: ReasonLoadBalancerPending,
	},
	{
		name:  "loadbalancer with ip",
		obj:   `{"apiVersion":"v1","kind":"Service","metadata":{"name":"acme-web"},"spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.10","ipMode":"VIP"}]}}}`,
		state: Ready, reason: ReasonLoadBalancerReady, msg: "load balancer at 203.0.113.10",
	},
	{
		name:  "loadbalancer with hostname",
		obj:   `{"apiVersion":"v1","kind":"Service","metadata":{"name":"acme-web"},"spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":[{"hostname":"lb.example.invalid"}]}}}`,
		state: Ready, reason: ReasonLoadBalancerReady, msg: "load balancer at lb.example.invalid",
	},

	// Deployment.
	{
		name:  "deployment just created, controller has not looked yet",
		obj:   `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":1},"spec":{"replicas":1}}`,
		state: NotReady, reason: ReasonObservedGenerationStale, msg: "controller has not observed generation 1 yet",
	},
	{
		name: "deployment spec changed, counters describe the old one",
		obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":3},"spec":{"replicas":2},
			"status":{"observedGeneration":2,"replicas":2,"updatedReplicas":2,"readyReplicas":2,"availableReplicas":2}}`,
		state: NotReady, reason: ReasonObservedGenerationStale,
		msg: "controller has observed generation 2, object is at generation 3",
	},
	{
		name: "deployment partially available",
		obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":1},"spec":{"replicas":3},
			"status":{"observedGeneration":1,"replicas":3,"updatedReplicas":3,"readyReplicas":1,"availableReplicas":1,"unavailableReplicas":2}}`,
		state: NotReady, reason: ReasonReplicasUnavailable, msg: "1/3 replicas available",
	},
	{
		name: "deployment rolling out",
		obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":2},"spec":{"replicas":3},
			"status":{"observedGeneration":2,"replicas":4,"updatedReplicas":1,"readyReplicas":3,"availableReplicas":3}}`,
		state: NotReady, reason: ReasonReplicasUpdating, msg: "1/3 replicas updated",
	},
	{
		name: "deployment available",
		obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":4},"spec":{"replicas":3},
			"status":{"observedGeneration":4,"replicas":3,"updatedReplicas":3,"readyReplicas":3,"availableReplicas":3,
			"conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable"},
			{"type":"Progressing","status":"True","reason":"NewReplicaSetAvailable"}]}}`,
		state: Ready, reason: ReasonReplicasAvailable, msg: "3/3 replicas available",
	},
	{
		name: "deployment without spec.replicas defaults to one",
		obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":1},"spec":{},
			"status":{"observedGeneration":1,"updatedReplicas":1}}`,
		state: NotReady, reason: ReasonReplicasUnavailable, msg: "0/1 replicas available",
	},
	{
		name: "deployment scaled to zero is ready at zero",
		obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":2},"spec":{"replicas":0},
			"status":{"observedGeneration":2}}`,
		state: Ready, reason: ReasonReplicasAvailable, msg: "0/0 replicas available",
	},
	{
		name: "deployment surge counts as available",
		obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":1},"spec":{"replicas":2},
			"status":{"observedGeneration":1,"replicas":3,"updatedReplicas":3,"availableReplicas":3}}`,
		state: Ready, reason: ReasonReplicasAvailable, msg: "2/2 replicas available",
	},
	{
		name: "deployment past its progress deadline has failed",
		obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":1},"spec":{"replicas":1},
			"status":{"observedGeneration":1,"replicas":1,"updatedReplicas":1,"unavailableReplicas":1,"conditions":[
			{"type":"Available","status":"False","reason":"MinimumReplicasUnavailable"},
			{"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded",
			 "message":"ReplicaSet \"web-77884b58b6\" has timed out progressing."}]}}`,
		state: Failed, reason: ReasonProgressDeadlineExceeded, msg: `ReplicaSet "web-77884b58b6" has timed out progressing.`,
	},
	{
		name: "deadline exceeded on an older spec is not a verdict on the new one",
		obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":2},"spec":{"replicas":1},
			"status":{"observedGeneration":1,"conditions":[{"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded"}]}}`,
		state: NotReady, reason: ReasonObservedGenerationStale,
	},
	{
		name: "a custom resource called Deployment is judged by its conditions",
		obj: `{"apiVersion":"deploy.example.com/v1","kind":"Deployment","metadata":{"name":"web","generation":1},
			"spec":{"replicas":3},"status":{"conditions":[{"type":"Ready","status":"True","reason":"Synced"}]}}`,
		state: Ready, reason: "Synced",
	},

	// StatefulSet.
	{
		name: "statefulset ready",
		obj: `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":1},"spec":{"replicas":3},
			"status":{"observedGeneration":1,"replicas":3,"readyReplicas":3,"currentReplicas":3,"updatedReplicas":3,
			"currentRevision":"db-5d8f","updateRevision":"db-5d8f","availableReplicas":3}}`,
		state: Ready, reason: ReasonReplicasReady, msg: "3/3 replicas ready",
	},
	{
		name: "statefulset still starting",
		obj: `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":1},"spec":{"replicas":3},
			"status":{"observedGeneration":1,"replicas":2,"readyReplicas":1,"updatedReplicas":2,
			"currentRevision":"db-5d8f","updateRevision":"db-5d8f"}}`,
		state: NotReady, reason: ReasonReplicasNotReady, msg: "1/3 replicas ready",
	},
	{
		name: "statefulset without updatedReplicas and no rollout pending",
		obj: `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":1},"spec":{"replicas":2},
			"status":{"observedGeneration":1,"replicas":2,"readyReplicas":2,"currentReplicas":2,
			"currentRevision":"db-5d8f","updateRevision":"db-5d8f"}}`,
		state: Ready, reason: ReasonReplicasReady, msg: "2/2 replicas ready",
	},
	{
		name: "statefulset without updatedReplicas while a rollout is pending",
		obj: `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},"spec":{"replicas":2},
			"status":{"observedGeneration":2,"replicas":2,"readyReplicas":2,"currentReplicas":2,
			"currentRevision":"db-5d8f","updateRevision":"db-7c9a"}}`,
		state: NotReady, reason: ReasonReplicasUpdating, msg: "0/2 replicas updated",
	},
	{
		name: "statefulset rolling update in progress",
		obj: `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},"spec":{"replicas":3},
			"status":{"observedGeneration":2,"replicas":3,"readyReplicas":3,"updatedReplicas":1,
			"currentRevision":"db-5d8f","updateRevision":"db-7c9a"}}`,
		state: NotReady, reason: ReasonReplicasUpdating, msg: "1/3 replicas updated",
	},
	{
		name: "statefulset partition keeps pods on the old revision on purpose",
		obj: `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},
			"spec":{"replicas":3,"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}},
			"status":{"observedGeneration":2,"replicas":3,"readyReplicas":3,"updatedReplicas":1,
			"currentRevision":"db-5d8f","updateRevision":"db-7c9a"}}`,
		state: Ready, reason: ReasonReplicasReady,
	},
	{
		name: "statefulset OnDelete does not wait for a human",
		obj: `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},
			"spec":{"replicas":2,"updateStrategy":{"type":"OnDelete"}},
			"status":{"observedGeneration":2,"replicas":2,"readyReplicas":2,
			"currentRevision":"db-5d8f","updateRevision":"db-7c9a"}}`,
		state: Ready, reason: ReasonReplicasReady,
	},
	{
		name: "statefulset scaled to zero",
		obj: `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":3},"spec":{"replicas":0},
			"status":{"observedGeneration":3,"replicas":0,"availableReplicas":0}}`,
		state: Ready, reason: ReasonReplicasReady, msg: "0/0 replicas ready",
	},
	{
		name: "statefulset stale generation",
		obj: `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},"spec":{"replicas":1},
			"status":{"observedGeneration":1,"readyReplicas":1,"updatedReplicas":1}}`,
		state: NotReady, reason: ReasonObservedGenerationStale,
	},

	// DaemonSet.
	{
		name: "daemonset ready",
		obj: `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":1},"spec":{},
			"status":{"observedGeneration":1,"currentNumberScheduled":3,"desiredNumberScheduled":3,"numberAvailable":3,
			"numberMisscheduled":0,"numberReady":3,"updatedNumberScheduled":3}}`,
		state: Ready, reason: ReasonReplicasReady, msg: "3/3 scheduled pods ready",
	},
	{
		name: "daemonset with no eligible nodes",
		obj: `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":1},"spec":{},
			"status":{"observedGeneration":1,"currentNumberScheduled":0,"desiredNumberScheduled":0,"numberMisscheduled":0,"numberReady":0}}`,
		state: Ready, reason: ReasonReplicasReady, msg: "no nodes eligible, 0 pods scheduled",
	},
	{
		name:  "daemonset just created is not ready at zero",
		obj:   `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":1},"spec":{}}`,
		state: NotReady, reason: ReasonObservedGenerationStale,
	},
	{
		name: "daemonset pods not ready",
		obj: `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":1},
			"status":{"observedGeneration":1,"desiredNumberScheduled":3,"numberReady":2,"updatedNumberScheduled":3}}`,
		state: NotReady, reason: ReasonReplicasNotReady, msg: "2/3 scheduled pods ready",
	},
	{
		name: "daemonset rolling out",
		obj: `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":2},
			"status":{"observedGeneration":2,"desiredNumberScheduled":3,"numberReady":3,"updatedNumberScheduled":1}}`,
		state: NotReady, reason: ReasonReplicasUpdating, msg: "1/3 scheduled pods updated",
	},
	{
		name: "daemonset OnDelete does not wait for a human",
		obj: `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":2},"spec":{"updateStrategy":{"type":"OnDelete"}},
			"status":{"observedGeneration":2,"desiredNumberScheduled":3,"numberReady":3,"updatedNumberScheduled":1}}`,
		state: Ready, reason: ReasonReplicasReady,
	},

	// Job.
	{
		name: "job complete",
		obj: `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate","generation":1},"spec":{"completions":1},
			"status":{"succeeded":1,"startTime":"2026-11-25T20:38:48Z","completionTime":"2026-11-25T20:39:10Z","conditions":[
			{"type":"SuccessCriteriaMet","status":"True","reason":"CompletionsReached"},
			{"type":"Complete","status":"True","reason":"CompletionsReached","message":"Reached expected number of succeeded pods"}]}}`,
		state: Ready, reason: ReasonJobComplete, msg: "Reached expected number of succeeded pods",
	},
	{
		name: "job failed keeps the condition's reason",
		obj: `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate","generation":1},"spec":{"backoffLimit":2},
			"status":{"failed":3,"conditions":[
			{"type":"FailureTarget","status":"True","reason":"BackoffLimitExceeded"},
			{"type":"Failed","status":"True","reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit"}]}}`,
		state: Failed, reason: "BackoffLimitExceeded", msg: "Job has reached the specified backoff limit",
	},
	{
		name:  "job failed without reason",
		obj:   `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},"status":{"conditions":[{"type":"Failed","status":"True"}]}}`,
		state: Failed, reason: ReasonJobFailed, msg: "job failed",
	},
	{
		name: "job running",
		obj: `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate","generation":1},"spec":{"completions":1,"parallelism":1},
			"status":{"active":1,"ready":0,"startTime":"2026-11-25T20:38:48Z"}}`,
		state: NotReady, reason: ReasonJobRunning, msg: "0/1 completions succeeded, 1 active, 0 failed",
	},
	{
		name: "job with one of five completions is not done (upstream said ready)",
		obj: `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"batch"},"spec":{"completions":5},
			"status":{"active":2,"succeeded":1,"failed":1}}`,
		state: NotReady, reason: ReasonJobRunning, msg: "1/5 completions succeeded, 2 active, 1 failed",
	},
	{
		name: "job with a False Complete condition",
		obj: `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},
			"status":{"conditions":[{"type":"Complete","status":"False"}]}}`,
		state: NotReady, reason: ReasonJobRunning,
	},
	{
		name: "job suspended",
		obj: `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},"spec":{"suspend":true},
			"status":{"conditions":[{"type":"Suspended","status":"True","reason":"JobSuspended"}]}}`,
		state: NotReady, reason: ReasonJobSuspended,
	},

	// Ingress.
	{
		name:  "ingress without address",
		obj:   `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"},"spec":{"rules":[{"host":"acme.example.invalid"}]},"status":{"loadBalancer":{}}}`,
		state: Ready, reason: ReasonExists, msg: "Ingress exists",
	},
	{
		name:  "ingress with only a default backend (upstream waited forever)",
		obj:   `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"},"spec":{"defaultBackend":{"service":{"name":"web","port":{"number":80}}}}}`,
		state: Ready, reason: ReasonExists,
	},
	{
		name:  "ingress with address",
		obj:   `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"},"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.7"},{"hostname":"lb.example.invalid"}]}}}`,
		state: Ready, reason: ReasonExists, msg: "Ingress exists, load balancer at 203.0.113.7, lb.example.invalid",
	},

	// PersistentVolumeClaim.
	{
		name:  "pvc bound",
		obj:   `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"spec":{"volumeName":"pv-1"},"status":{"phase":"Bound","capacity":{"storage":"1Gi"}}}`,
		state: Ready, reason: ReasonClaimBound,
	},
	{
		name:  "pvc pending",
		obj:   `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"status":{"phase":"Pending"}}`,
		state: NotReady, reason: ReasonClaimPending, msg: "claim is Pending",
	},
	{
		name:  "pvc without status",
		obj:   `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"}}`,
		state: NotReady, reason: ReasonClaimPending,
	},
	{
		name:  "pvc lost",
		obj:   `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"status":{"phase":"Lost"}}`,
		state: Failed, reason: ReasonClaimLost,
	},

	// Pod.
	{
		name: "pod running and ready",
		obj: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Running","conditions":[
			{"type":"Initialized","status":"True"},{"type":"Ready","status":"True"},{"type":"ContainersReady","status":"True"}]}}`,
		state: Ready, reason: ReasonPodReady,
	},
	{
		name: "pod running but not ready",
		obj: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Running","conditions":[
			{"type":"Ready","status":"False","reason":"ContainersNotReady","message":"containers with unready status: [web]"}]}}`,
		state: NotReady, reason: ReasonPodNotReady, msg: "containers with unready status: [web]",
	},
	{
		name: "pod succeeded although no longer Ready",
		obj: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Succeeded","conditions":[
			{"type":"Ready","status":"False","reason":"PodCompleted"}]}}`,
		state: Ready, reason: ReasonPodSucceeded,
	},
	{
		name:  "pod evicted",
		obj:   `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Failed","reason":"Evicted","message":"The node was low on resource: memory."}}`,
		state: Failed, reason: "Evicted", msg: "The node was low on resource: memory.",
	},
	{
		name:  "pod pending",
		obj:   `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Pending"}}`,
		state: NotReady, reason: ReasonPodNotReady, msg: "pod is Pending",
	},

	// Everything else.
	{
		name: "hpa reports conditions but none about readiness",
		obj: `{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","generation":1},
			"status":{"observedGeneration":1,"currentReplicas":1,"desiredReplicas":1,"conditions":[
			{"type":"AbleToScale","status":"True","reason":"ReadyForNewScale"},
			{"type":"ScalingActive","status":"False","reason":"FailedGetResourceMetric"}]}}`,
		state: Ready, reason: ReasonExists,
		msg: "HorizontalPodAutoscaler exists and reports no Ready or Available condition",
	},
	{
		name: "custom resource Ready=True",
		obj: `{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"acme-tls","generation":1},
			"status":{"conditions":[{"type":"Ready","status":"True","reason":"Ready","message":"Certificate is up to date and has not expired","observedGeneration":1}]}}`,
		state: Ready, reason: "Ready", msg: "Certificate is up to date and has not expired",
	},
	{
		name: "custom resource Ready=False passes its reason and message through",
		obj: `{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"acme-tls","generation":1},
			"status":{"conditions":[{"type":"Ready","status":"False","reason":"DoesNotExist","message":"Issuing certificate as Secret does not exist"}]}}`,
		state: NotReady, reason: "DoesNotExist", msg: "Issuing certificate as Secret does not exist",
	},
	{
		name:  "custom resource Ready=False without reason",
		obj:   `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"status":{"conditions":[{"type":"Ready","status":"False"}]}}`,
		state: NotReady, reason: ReasonConditionFalse, msg: "Ready condition is False",
	},
	{
		name:  "custom resource Ready=Unknown",
		obj:   `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"status":{"conditions":[{"type":"Ready","status":"Unknown"}]}}`,
		state: NotReady, reason: ReasonConditionUnknown, msg: "Ready condition is Unknown",
	},
	{
		name:  "custom resource decided by Available",
		obj:   `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"status":{"conditions":[{"type":"Available","status":"True"}]}}`,
		state: Ready, reason: ReasonConditionTrue, msg: "Available condition is True",
	},
	{
		name: "Ready decides over Available",
		obj: `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"status":{"conditions":[
			{"type":"Available","status":"True"},{"type":"Ready","status":"False","reason":"Reconciling"}]}}`,
		state: NotReady, reason: "Reconciling",
	},
	{
		name:  "custom resource without status",
		obj:   `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","generation":1},"spec":{"size":3}}`,
		state: Ready, reason: ReasonExists, msg: "Widget exists and reports no Ready or Available condition",
	},
	{
		name: "custom resource with stale observedGeneration",
		obj: `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","generation":2},
			"status":{"observedGeneration":1,"conditions":[{"type":"Ready","status":"True"}]}}`,
		state: NotReady, reason: ReasonObservedGenerationStale,
		msg: "controller has observed generation 1, object is at generation 2",
	},
	{
		name: "custom resource with a stale Ready condition",
		obj: `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","generation":2},
			"status":{"conditions":[{"type":"Ready","status":"True","observedGeneration":1}]}}`,
		state: NotReady, reason: ReasonObservedGenerationStale,
		msg: "Ready condition describes generation 1, object is at generation 2",
	},
	{
		name:  "custom resource that never reports observedGeneration",
		obj:   `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","generation":7},"status":{"conditions":[{"type":"Ready","status":"True"}]}}`,
		state: Ready, reason: ReasonConditionTrue,
	},
	{
		name: "pdb is ready once it exists (upstream: never, no Ready condition)",
		obj: `{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"web","generation":1},"spec":{"minAvailable":1},
			"status":{"observedGeneration":1,"currentHealthy":0,"desiredHealthy":1,"disruptionsAllowed":0,"expectedPods":1,
			"conditions":[{"type":"DisruptionAllowed","status":"False","reason":"InsufficientPods"}]}}`,
		state: Ready, reason: ReasonExists, msg: "PodDisruptionBudget exists",
	},
	{
		name:  "object without kind",
		obj:   `{"metadata":{"name":"mystery"}}`,
		state: Ready, reason: ReasonExists, msg: "object exists and reports no Ready or Available condition",
	},
}

func TestJudge(t *testing.T) {
	for _, tt := range judgeCases {
		// Every case runs with each number representation a decoder can
		// produce, so no rule silently depends on one of them.
		for _, numbers := range []string{"float64", "json.Number", "int64"} {
			t.Run(tt.name+"/"+numbers, func(t *testing.T) {
				obj := decode(t, tt.obj, numbers)
				got := Judge(obj)
				assert.Equal(t, tt.state, got.State, "%+v", got)
				assert.Equal(t, tt.reason, got.Reason, "%+v", got)
				if tt.msg != "" {
					assert.Equal(t, tt.msg, got.Message)
				}
				assert.NotEmpty(t, got.Message)
			})
		}
	}
}

func TestJudgeReadyOnceExists(t *testing.T) {
	kinds := []struct{ apiVersion, kind string }{
		{"v1", "ConfigMap"}, {"v1", "Secret"}, {"v1", "ServiceAccount"},
		{"v1", "ResourceQuota"}, {"v1", "LimitRange"},
		{"rbac.authorization.k8s.io/v1", "Role"}, {"rbac.authorization.k8s.io/v1", "RoleBinding"},
		{"rbac.authorization.k8s.io/v1", "ClusterRole"}, {"rbac.authorization.k8s.io/v1", "ClusterRoleBinding"},
		{"networking.k8s.io/v1", "NetworkPolicy"}, {"policy/v1", "PodDisruptionBudget"}, {"batch/v1", "CronJob"},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			// A Ready=False condition would stop the generic rule; the
			// explicit rule must not look at it.
			obj := map[string]any{
				"apiVersion": k.apiVersion, "kind": k.kind,
				"metadata": map[string]any{"name": "x", "generation": int64(2)},
				"status": map[string]any{"observedGeneration": int64(1),
					"conditions": []any{map[string]any{"type": "Ready", "status": "False"}}},
			}
			assert.Equal(t, Result{Ready, ReasonExists, k.kind + " exists"}, Judge(obj))
		})
	}
}

func TestJudgeNil(t *testing.T) {
	assert.Equal(t, Result{NotReady, ReasonNotObserved, "object has not been observed yet"}, Judge(nil))
}

func TestZeroResultIsNotReady(t *testing.T) {
	var r Result
	assert.Equal(t, NotReady, r.State)
}

func TestStateString(t *testing.T) {
	assert.Equal(t, "NotReady", NotReady.String())
	assert.Equal(t, "Ready", Ready.String())
	assert.Equal(t, "Failed", Failed.String())
	assert.Equal(t, "State(7)", State(7).String())
}

func TestJudgeNumberShapes(t *testing.T) {
	base := func(replicas any) map[string]any {
		return map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "generation": replicas},
			"spec":     map[string]any{"replicas": replicas},
			"status": map[string]any{"observedGeneration": replicas,
				"updatedReplicas": replicas, "availableReplicas": replicas},
		}
	}
	for _, v := range []any{2, int8(2), int16(2), int32(2), int64(2), uint(2), uint8(2), uint16(2), uint32(2),
		uint64(2), float32(2), float64(2), json.Number("2"), json.Number("2.0"), json.Number("2e0")} {
		t.Run(fmt.Sprintf("%T(%v)", v, v), func(t *testing.T) {
			assert.Equal(t, Result{Ready, ReasonReplicasAvailable, "2/2 replicas available"}, Judge(base(v)))
		})
	}
	// Values that are not integers read as absent: replicas defaults to 1
	// and the counters to 0.
	for _, v := range []any{"2", 2.5, json.Number("x"), uint64(1 << 63), true} {
		t.Run(fmt.Sprintf("invalid %T(%v)", v, v), func(t *testing.T) {
			got := Judge(base(v))
			assert.Equal(t, NotReady, got.State, "%+v", got)
		})
	}
}

func TestJudgeDoesNotModifyInput(t *testing.T) {
	obj := decode(t, judgeCases[0].obj, "float64")
	before, err := json.Marshal(obj)
	require.NoError(t, err)
	for _, c := range judgeCases {
		o := decode(t, c.obj, "float64")
		want, _ := json.Marshal(o)
		Judge(o)
		got, _ := json.Marshal(o)
		require.Equal(t, string(want), string(got), c.name)
	}
	after, _ := json.Marshal(obj)
	assert.Equal(t, string(before), string(after))
}

func TestJudgeMalformed(t *testing.T) {
	// Shapes a broken or hostile object could have; none may panic, and
	// none of the workloads may come out Ready.
	for _, raw := range []string{
		`{}`,
		`{"kind":"Deployment","apiVersion":"apps/v1","status":"ready"}`,
		`{"kind":"Deployment","apiVersion":"apps/v1","metadata":"x","spec":[],"status":{"conditions":{"type":"Ready"}}}`,
		`{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"generation":1},"status":{"observedGeneration":"1","conditions":[1,"x",null,{"type":7}]}}`,
		`{"kind":"StatefulSet","apiVersion":"apps/v1","metadata":{"generation":1},"spec":{"updateStrategy":"OnDelete"},"status":{"observedGeneration":1}}`,
		`{"kind":"DaemonSet","apiVersion":"apps/v1","metadata":{"generation":1},"status":{"observedGeneration":1,"desiredNumberScheduled":"3"}}`,
		`{"kind":"Job","apiVersion":"batch/v1","status":{"conditions":[{"type":"Complete","status":true}]}}`,
		`{"kind":"Service","apiVersion":"v1","spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":"1.2.3.4"}}}`,
		`{"kind":"Pod","apiVersion":"v1","status":{"phase":"Running","conditions":null}}`,
		`{"kind":"Widget","apiVersion":"x/v1","metadata":{"deletionTimestamp":""},"status":{"conditions":[{"type":"Ready"}]}}`,
		`{"kind":5,"apiVersion":["v1"]}`,
	} {
		t.Run(raw, func(t *testing.T) {
			var obj map[string]any
			require.NoError(t, json.Unmarshal([]byte(raw), &obj))
			got := Judge(obj)
			assert.NotEmpty(t, got.Reason)
			assert.NotEmpty(t, got.Message)
		})
	}

	t.Run("hand-built slices of maps", func(t *testing.T) {
		obj := map[string]any{
			"apiVersion": "example.com/v1", "kind": "Widget",
			"status": map[string]any{"conditions": []map[string]any{{"type": "Ready", "status": "False", "reason": "Nope"}}},
		}
		assert.Equal(t, "Nope", Judge(obj).Reason)
	})
}

// The recorded hook requests (testdata/metacontroller at the repository's
// root, see internal/fixtures).
func TestJudgeRecordedFixtures(t *testing.T) {
	tests := []struct {
		file string
		want Result
	}{
		{
			file: "tenant-sync-round3-all-observed.json",
			want: Result{NotReady, ReasonReplicasUnavailable, "0/1 replicas available"},
		},
		{
			file: "tenant-sync-deployment-available.json",
			want: Result{Ready, ReasonReplicasAvailable, "1/1 replicas available"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			children := fixtureChildren(t, tt.file)
			deployments := children["Deployment.apps/v1"]
			require.Len(t, deployments, 1)
			assert.Equal(t, tt.want, Judge(deployments["acme/acme-web"]))

			// The other children in the same request are all ready.
			for typ, objs := range children {
				if typ == "Deployment.apps/v1" {
					continue
				}
				for key, obj := range objs {
					assert.Equal(t, Ready, Judge(obj).State, "%s %s: %+v", typ, key, Judge(obj))
				}
			}
		})
	}
}

func fixtureChildren(t testing.TB, file string) map[string]map[string]map[string]any {
	t.Helper()
	raw := fixtures.Read(t, file)
	var req struct {
		Children map[string]map[string]map[string]any `json:"children"`
	}
	require.NoError(t, json.Unmarshal(raw, &req))
	return req.Children
}

// decode parses JSON the way different callers might: encoding/json's
// float64 default, UseNumber, or integers as int64 (as YAML decoders and
// hand-built objects produce).
func decode(t testing.TB, raw, numbers string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if numbers != "float64" {
		dec.UseNumber()
	}
	var obj map[string]any
	require.NoError(t, dec.Decode(&obj), raw)
	if numbers == "int64" {
		return toInts(obj).(map[string]any)
	}
	return obj
}

func toInts(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = toInts(e)
		}
	case []any:
		for i, e := range x {
			x[i] = toInts(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
	}
	return v
}

func FuzzJudge(f *testing.F) {
	for _, c := range judgeCases {
		f.Add([]byte(c.obj))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var obj map[string]any
		if json.Unmarshal(raw, &obj) != nil {
			return
		}
		got := Judge(obj)
		if got.State < NotReady || got.State > Failed || got.Reason == "" || got.Message == "" {
			t.Fatalf("incomplete result %+v", got)
		}
	})
}

func BenchmarkJudgeDeployment(b *testing.B) {
	obj := fixtureChildren(b, "tenant-sync-deployment-available.json")["Deployment.apps/v1"]["acme/acme-web"]
	b.ReportAllocs()
	for b.Loop() {
		if Judge(obj).State != Ready {
			b.Fatal("not ready")
		}
	}
}
