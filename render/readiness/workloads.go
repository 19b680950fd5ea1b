package readiness

import "fmt"

// The rules in this file run behind the observed-generation guard in
// workload(), so the counters they read describe the current spec.

// desiredReplicas is spec.replicas with the API server's default of 1 when
// absent. Zero stays zero: a workload deliberately scaled to zero is done.
func desiredReplicas(obj map[string]any) int64 {
	return max(intOr(1, obj, "spec", "replicas"), 0)
}

func deployment(_ string, obj map[string]any) Result {
	// Checked before the counters, as kubectl rollout status does: the
	// deployment controller replaces this condition once a rollout
	// completes, so while it is present the rollout has given up.
	if c, ok := findCondition(obj, "Progressing"); ok && c.Reason == ReasonProgressDeadlineExceeded {
		return Result{Failed, ReasonProgressDeadlineExceeded,
			nonEmpty(c.Message, "deployment exceeded its progress deadline")}
	}
	want := desiredReplicas(obj)
	if updated := intOr(0, obj, "status", "updatedReplicas"); updated < want {
		return Result{NotReady, ReasonReplicasUpdating, fmt.Sprintf("%d/%d replicas updated", updated, want)}
	}
	available := intOr(0, obj, "status", "availableReplicas")
	if available < want {
		return Result{NotReady, ReasonReplicasUnavailable, fmt.Sprintf("%d/%d replicas available", available, want)}
	}
	return Result{Ready, ReasonReplicasAvailable, fmt.Sprintf("%d/%d replicas available", min(available, want), want)}
}

func statefulSet(_ string, obj map[string]any) Result {
	want := desiredReplicas(obj)
	ready := intOr(0, obj, "status", "readyReplicas")
	if ready < want {
		return Result{NotReady, ReasonReplicasNotReady, fmt.Sprintf("%d/%d replicas ready", ready, want)}
	}
	if needUpdated, ok := statefulSetUpdateTarget(obj, want); ok {
		updated, present := integer(obj, "status", "updatedReplicas")
		if !present {
			// The controller omits a zero updatedReplicas, and it is also
			// missing on sets whose status predates the field. Either way,
			// when no rollout is pending every ready pod runs the current
			// revision.
			cur, upd := str(obj, "status", "currentRevision"), str(obj, "status", "updateRevision")
			if cur != "" && cur == upd {
				updated = ready
			}
		}
		if updated < needUpdated {
			return Result{NotReady, ReasonReplicasUpdating, fmt.Sprintf("%d/%d replicas updated", updated, needUpdated)}
		}
	}
	return Result{Ready, ReasonReplicasReady, fmt.Sprintf("%d/%d replicas ready", min(ready, want), want)}
}

// statefulSetUpdateTarget returns how many pods a finished rollout leaves on
// the new revision, and false when the set never rolls pods by itself.
// OnDelete waits for a human to delete pods, and a partition deliberately
// keeps the pods below it on the old revision; waiting for either would hold
// dependants back forever.
func statefulSetUpdateTarget(obj map[string]any, want int64) (int64, bool) {
	if str(obj, "spec", "updateStrategy", "type") == "OnDelete" {
		return 0, false
	}
	partition := intOr(0, obj, "spec", "updateStrategy", "rollingUpdate", "partition")
	return max(want-max(partition, 0), 0), true
}

func daemonSet(_ string, obj map[string]any) Result {
	desired := intOr(0, obj, "status", "desiredNumberScheduled")
	if desired <= 0 {
		// No node is eligible; there is nothing to wait for.
		return Result{Ready, ReasonReplicasReady, "no nodes eligible, 0 pods scheduled"}
	}
	ready := intOr(0, obj, "status", "numberReady")
	if ready < desired {
		return Result{NotReady, ReasonReplicasNotReady, fmt.Sprintf("%d/%d scheduled pods ready", ready, desired)}
	}
	// As for StatefulSets, OnDelete never rolls pods by itself.
	if str(obj, "spec", "updateStrategy", "type") != "OnDelete" {
		if updated := intOr(0, obj, "status", "updatedNumberScheduled"); updated < desired {
			return Result{NotReady, ReasonReplicasUpdating, fmt.Sprintf("%d/%d scheduled pods updated", updated, desired)}
		}
	}
	return Result{Ready, ReasonReplicasReady, fmt.Sprintf("%d/%d scheduled pods ready", desired, desired)}
}
