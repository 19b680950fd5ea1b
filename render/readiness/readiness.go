package readiness

import (
	"fmt"
	"strings"
)

// State is the verdict on one observed object.
type State int

const (
	// NotReady is the zero value on purpose: a Result nobody filled in must
	// hold dependants back, never release them.
	NotReady State = iota
	// Ready means dependants may be emitted.
	Ready
	// Failed means the object will not become ready without a change to it,
	// so waiting for it (until a timeout) is pointless.
	Failed
)

func (s State) String() string {
	switch s {
	case NotReady:
		return "NotReady"
	case Ready:
		return "Ready"
	case Failed:
		return "Failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Result is a verdict with a CamelCase Reason for machines (conditions,
// metrics, alerts) and a Message for humans.
type Result struct {
	State   State
	Reason  string
	Message string
}

// Reasons set by this package. Reasons copied from an object's own
// conditions (a Job's BackoffLimitExceeded, a custom resource's Ready
// reason) are passed through unchanged and are not listed here.
const (
	ReasonNotObserved             = "NotObserved"
	ReasonTerminating             = "Terminating"
	ReasonObservedGenerationStale = "ObservedGenerationStale"
	ReasonExists                  = "Exists"

	ReasonNamespaceActive    = "NamespaceActive"
	ReasonNamespaceNotActive = "NamespaceNotActive"

	ReasonLoadBalancerReady   = "LoadBalancerReady"
	ReasonLoadBalancerPending = "LoadBalancerPending"

	ReasonReplicasAvailable        = "ReplicasAvailable"
	ReasonReplicasUnavailable      = "ReplicasUnavailable"
	ReasonReplicasReady            = "ReplicasReady"
	ReasonReplicasNotReady         = "ReplicasNotReady"
	ReasonReplicasUpdating         = "ReplicasUpdating"
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"

	ReasonJobComplete  = "JobComplete"
	ReasonJobFailed    = "JobFailed"
	ReasonJobSuspended = "JobSuspended"
	ReasonJobRunning   = "JobRunning"

	ReasonClaimBound   = "ClaimBound"
	ReasonClaimPending = "ClaimPending"
	ReasonClaimLost    = "ClaimLost"

	ReasonPodReady     = "PodReady"
	ReasonPodSucceeded = "PodSucceeded"
	ReasonPodFailed    = "PodFailed"
	ReasonPodNotReady  = "PodNotReady"

	ReasonConditionTrue    = "ConditionTrue"
	ReasonConditionFalse   = "ConditionFalse"
	ReasonConditionUnknown = "ConditionUnknown"
)

type groupKind struct{ group, kind string }

type judgeFunc func(kind string, obj map[string]any) Result

// judges is keyed by group as well as kind so that a custom resource that
// happens to be called Deployment is judged by its own conditions, not by
// apps/v1 replica counters it does not have.
var judges = map[groupKind]judgeFunc{
	{"", "Namespace"}:                namespace,
	{"", "Service"}:                  service,
	{"", "PersistentVolumeClaim"}:    persistentVolumeClaim,
	{"", "Pod"}:                      pod,
	{"apps", "Deployment"}:           workload(deployment),
	{"apps", "StatefulSet"}:          workload(statefulSet),
	{"apps", "DaemonSet"}:            workload(daemonSet),
	{"batch", "Job"}:                 job,
	{"networking.k8s.io", "Ingress"}: ingress,

	{"", "ConfigMap"}:                                   exists,
	{"", "Secret"}:                                      exists,
	{"", "ServiceAccount"}:                              exists,
	{"", "ResourceQuota"}:                               exists,
	{"", "LimitRange"}:                                  exists,
	{"rbac.authorization.k8s.io", "Role"}:               exists,
	{"rbac.authorization.k8s.io", "RoleBinding"}:        exists,
	{"rbac.authorization.k8s.io", "ClusterRole"}:        exists,
	{"rbac.authorization.k8s.io", "ClusterRoleBinding"}: exists,
	{"networking.k8s.io", "NetworkPolicy"}:              exists,
	{"policy", "PodDisruptionBudget"}:                   exists,
	{"batch", "CronJob"}:                                exists,
}

// Judge returns the readiness of one observed object. A nil object is one
// that has not been observed yet and is NotReady. Judge never panics on
// malformed input and does not modify obj.
func Judge(obj map[string]any) Result {
	if obj == nil {
		return Result{NotReady, ReasonNotObserved, "object has not been observed yet"}
	}
	kind := str(obj, "kind")
	if ts, ok := field(obj, "metadata", "deletionTimestamp"); ok && ts != "" {
		return terminating(ts, obj)
	}
	if j, ok := judges[groupKind{group(str(obj, "apiVersion")), kind}]; ok {
		return j(kind, obj)
	}
	return generic(kind, obj)
}

func terminating(ts any, obj map[string]any) Result {
	msg := fmt.Sprintf("deletion requested at %v", ts)
	var fins []string
	for _, f := range list(obj, "metadata", "finalizers") {
		if s, ok := f.(string); ok {
			fins = append(fins, s)
		}
	}
	if len(fins) > 0 {
		msg += ", waiting for finalizers " + strings.Join(fins, ", ")
	}
	return Result{NotReady, ReasonTerminating, msg}
}

func exists(kind string, _ map[string]any) Result {
	return Result{Ready, ReasonExists, orObject(kind) + " exists"}
}

func orObject(kind string) string {
	if kind == "" {
		return "object"
	}
	return kind
}

// generationStale reports whether the controller has not yet acted on the
// latest spec. absentIsStale decides what a missing status.observedGeneration
// means: for built-in workloads it means the controller has not looked at
// the object at all, while many custom resources never report one.
func generationStale(obj map[string]any, absentIsStale bool) (Result, bool) {
	gen := intOr(0, obj, "metadata", "generation")
	observed, ok := integer(obj, "status", "observedGeneration")
	if !ok {
		if !absentIsStale || gen == 0 {
			return Result{}, false
		}
		return Result{NotReady, ReasonObservedGenerationStale,
			fmt.Sprintf("controller has not observed generation %d yet", gen)}, true
	}
	if observed >= gen {
		return Result{}, false
	}
	return Result{NotReady, ReasonObservedGenerationStale,
		fmt.Sprintf("controller has observed generation %d, object is at generation %d", observed, gen)}, true
}

// workload wraps a built-in workload rule with the observed-generation
// guard, since replica counters describe whatever spec the controller last
// saw, not necessarily the one we just emitted.
func workload(rule judgeFunc) judgeFunc {
	return func(kind string, obj map[string]any) Result {
		if r, stale := generationStale(obj, true); stale {
			return r
		}
		return rule(kind, obj)
	}
}

func namespace(_ string, obj map[string]any) Result {
	switch phase := str(obj, "status", "phase"); phase {
	case "Active":
		return Result{Ready, ReasonNamespaceActive, "namespace is Active"}
	case "":
		return Result{NotReady, ReasonNamespaceNotActive, "namespace phase not reported yet"}
	default:
		return Result{NotReady, ReasonNamespaceNotActive, fmt.Sprintf("namespace is %s", phase)}
	}
}

func service(_ string, obj map[string]any) Result {
	if str(obj, "spec", "type") != "LoadBalancer" {
		return Result{Ready, ReasonExists, "Service exists"}
	}
	if addr := loadBalancerAddresses(obj); addr != "" {
		return Result{Ready, ReasonLoadBalancerReady, "load balancer at " + addr}
	}
	return Result{NotReady, ReasonLoadBalancerPending, "waiting for the load balancer to report an address"}
}

// loadBalancerAddresses lists status.loadBalancer.ingress for messages. An
// entry with neither ip nor hostname still counts as provisioned, the way
// kubectl treats it, hence the placeholder.
func loadBalancerAddresses(obj map[string]any) string {
	var addrs []string
	for _, item := range list(obj, "status", "loadBalancer", "ingress") {
		m, _ := item.(map[string]any)
		switch {
		case str(m, "ip") != "":
			addrs = append(addrs, str(m, "ip"))
		case str(m, "hostname") != "":
			addrs = append(addrs, str(m, "hostname"))
		default:
			addrs = append(addrs, "<unnamed>")
		}
	}
	return strings.Join(addrs, ", ")
}

func ingress(_ string, obj map[string]any) Result {
	if addr := loadBalancerAddresses(obj); addr != "" {
		return Result{Ready, ReasonExists, "Ingress exists, load balancer at " + addr}
	}
	return Result{Ready, ReasonExists, "Ingress exists"}
}

func persistentVolumeClaim(_ string, obj map[string]any) Result {
	switch phase := str(obj, "status", "phase"); phase {
	case "Bound":
		return Result{Ready, ReasonClaimBound, "claim is Bound"}
	case "Lost":
		return Result{Failed, ReasonClaimLost, "claim lost its volume"}
	case "":
		return Result{NotReady, ReasonClaimPending, "claim phase not reported yet"}
	default:
		return Result{NotReady, ReasonClaimPending, fmt.Sprintf("claim is %s", phase)}
	}
}

func pod(_ string, obj map[string]any) Result {
	phase := str(obj, "status", "phase")
	switch phase {
	case "Succeeded":
		return Result{Ready, ReasonPodSucceeded, "pod succeeded"}
	case "Failed":
		return Result{Failed, nonEmpty(str(obj, "status", "reason"), ReasonPodFailed),
			nonEmpty(str(obj, "status", "message"), "pod failed")}
	case "Running":
		c, ok := findCondition(obj, "Ready")
		if ok && c.Status == "True" {
			return Result{Ready, ReasonPodReady, "pod is running and ready"}
		}
		return Result{NotReady, ReasonPodNotReady, nonEmpty(c.Message, "pod is running but not ready")}
	case "":
		return Result{NotReady, ReasonPodNotReady, "pod phase not reported yet"}
	default:
		return Result{NotReady, ReasonPodNotReady, fmt.Sprintf("pod is %s", phase)}
	}
}

func job(_ string, obj map[string]any) Result {
	// Failed is checked first: the two are exclusive in a real Job, and if
	// a broken object claims both, holding dependants back is the safe side.
	if c, ok := hasConditionTrue(obj, "Failed"); ok {
		return Result{Failed, nonEmpty(c.Reason, ReasonJobFailed), nonEmpty(c.Message, "job failed")}
	}
	if c, ok := hasConditionTrue(obj, "Complete"); ok {
		return Result{Ready, ReasonJobComplete, nonEmpty(c.Message, "job completed")}
	}
	if boolean(obj, "spec", "suspend") {
		return Result{NotReady, ReasonJobSuspended, "job is suspended"}
	}
	completions := intOr(1, obj, "spec", "completions")
	return Result{NotReady, ReasonJobRunning, fmt.Sprintf("%d/%d completions succeeded, %d active, %d failed",
		intOr(0, obj, "status", "succeeded"), completions,
		intOr(0, obj, "status", "active"), intOr(0, obj, "status", "failed"))}
}

// generic judges kinds we have no rule for by the conventions most
// controllers follow: an observed generation, then a Ready condition, then
// an Available one.
func generic(kind string, obj map[string]any) Result {
	if r, stale := generationStale(obj, false); stale {
		return r
	}
	for _, typ := range [...]string{"Ready", "Available"} {
		c, ok := findCondition(obj, typ)
		if !ok {
			continue
		}
		// A condition stamped with an older generation describes an older
		// spec, exactly like a stale status.observedGeneration.
		if gen := intOr(0, obj, "metadata", "generation"); c.HasObservedGeneration && c.ObservedGeneration < gen {
			return Result{NotReady, ReasonObservedGenerationStale,
				fmt.Sprintf("%s condition describes generation %d, object is at generation %d", typ, c.ObservedGeneration, gen)}
		}
		if c.Status == "True" {
			return Result{Ready, nonEmpty(c.Reason, ReasonConditionTrue), nonEmpty(c.Message, typ+" condition is True")}
		}
		reason := ReasonConditionFalse
		if c.Status != "False" {
			reason = ReasonConditionUnknown
		}
		return Result{NotReady, nonEmpty(c.Reason, reason), nonEmpty(c.Message, typ+" condition is "+nonEmpty(c.Status, "unset"))}
	}
	return Result{Ready, ReasonExists, orObject(kind) + " exists and reports no Ready or Available condition"}
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
