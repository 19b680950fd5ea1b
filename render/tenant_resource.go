package render

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/readiness"
)

// state of one resource during the walk, for its dependants.
type resState struct {
	satisfied bool
	failed    bool
}

func (tc *tenantCtx) resource(r *Resource) {
	st := ResourceStatus{ID: r.ID, Kind: object.Kind(r.Spec)}
	rendered, rerr := tc.render(r)
	if rerr == nil {
		st.Name, st.Namespace = object.Name(rendered), object.Namespace(rendered)
	}
	observed := tc.observedFor(r, rendered, rerr)
	if observed != nil {
		st.Owned = true
		tc.used[object.Key(observed)] = true
		if st.Name == "" || r.CreationPolicy == CreationOnce {
			// Status names the object actually kept (its kind too: the
			// template may have changed the resource's kind since).
			st.Kind, st.Name, st.Namespace = object.Kind(observed), object.Name(observed), object.Namespace(observed)
		}
	}

	if rerr != nil {
		tc.renderFailed = true
		st.State, st.Reason, st.Message = StateFailed, "RenderError", rerr.Error()
		if observed != nil {
			tc.keep(observed, r)
			st.Message += " (keeping the existing object unchanged)"
		}
		tc.keepAllOf(r)
		tc.finish(r, st, resState{failed: true})
		return
	}

	deps := tc.dependencies(r)
	if observed == nil && deps.satisfied {
		// Metacontroller has no ordering of its own: contents of a Namespace
		// this template creates are emitted once the Namespace exists, or
		// their creation would fail until a retry.
		if nsID, ok := tc.nsByName[st.Namespace]; ok {
			if tc.observed[object.TypeKey("v1", "Namespace")+"|"+st.Namespace] == nil {
				deps = depState{message: fmt.Sprintf("waiting for Namespace %q (resource %q) to exist", st.Namespace, nsID)}
			}
		}
	}
	if observed == nil && !deps.satisfied {
		st.State = StatePending
		if deps.failed {
			st.Reason, st.Message = "DependencyFailed", deps.message
			if tc.keepAllOf(r) {
				st.Message += " (keeping the existing object unchanged)"
			}
		} else {
			st.Reason, st.Message = "WaitingForDependencies", deps.message
		}
		tc.finish(r, st, resState{failed: deps.failed})
		return
	}
	if observed != nil && r.CreationPolicy == CreationOnce {
		tc.keep(observed, r)
	} else {
		tc.children = append(tc.children, tc.withAnchor(rendered, r))
	}

	var rs resState
	switch {
	case observed == nil && tc.claimed != nil && !tc.claimed[object.Key(rendered)]:
		// Without a claim the customize hook asked for no object of this
		// name, so an existing one (someone else's, or one retained from an
		// earlier Tenant) would be invisible here: never create blind. The
		// registry sees this status and claims the name again.
		tc.children = tc.children[:len(tc.children)-1]
		st.State, st.Reason = StateWaiting, "AwaitingClaim"
		st.Message = "not observed as a child and not in spec.claims; waiting for the registry to claim the name, " +
			"so that an existing object of that name is seen before anything is created"
		tc.finish(r, st, resState{})
		return
	case observed == nil:
		st.State, st.Reason, st.Message = StateWaiting, "Creating", "waiting for the object to appear"
		if other := tc.existing(rendered); other != nil && tc.orphanFor(rendered) == nil {
			reason, msg, emit := conflict(r, other)
			st.Reason, st.Message = reason, msg
			if !emit {
				// Metacontroller would silently ignore the create; say why.
				tc.children = tc.children[:len(tc.children)-1]
				st.State = StateFailed
				tc.finish(r, st, resState{failed: true})
				return
			}
		}
		if orphan := tc.orphanFor(rendered); orphan != nil {
			st.State, st.Reason = StateFailed, "RetainedObjectNotAdopted"
			st.Message = fmt.Sprintf("%s %s was retained from an earlier Tenant %q and is not managed by this one; "+
				"adopt it with: kubectl label %s %s -n %s %s=%s %s-",
				object.Kind(orphan), object.Name(orphan), tc.name, strings.ToLower(object.Kind(orphan)), object.Name(orphan),
				object.Namespace(orphan), LabelControllerUID, object.UID(tc.in.Tenant), LabelOrphaned)
			tc.finish(r, st, resState{failed: true})
			return
		}
		rs.satisfied = !r.WaitForReady
	case !r.WaitForReady:
		st.State, st.Reason = StateReady, "Exists"
		rs.satisfied = true
	default:
		res := readiness.Judge(observed)
		switch res.State {
		case readiness.Ready:
			st.State, st.Reason = StateReady, res.Reason
			rs.satisfied = true
		case readiness.Failed:
			st.State, st.Reason, st.Message = StateFailed, res.Reason, res.Message
			rs.failed = true
		default:
			st.State, st.Reason, st.Message = StateWaiting, res.Reason, res.Message
		}
	}
	if st.State == StateWaiting && r.WaitForReady {
		tc.timeout(r, &st, &rs)
	}
	tc.finish(r, st, rs)
}

// dropChild removes the child with key k from the answer.
func (tc *tenantCtx) dropChild(k string) {
	delete(tc.keptByID, k)
	tc.children = slices.DeleteFunc(tc.children, func(c object.Obj) bool { return object.Key(c) == k })
}

// timeout starts or checks the readiness budget of a waiting resource. The
// start time lives in the Tenant's status, the hook's only memory.
func (tc *tenantCtx) timeout(r *Resource, st *ResourceStatus, rs *resState) {
	since := tc.now
	if p, ok := tc.prev[r.ID]; ok && p.WaitingSince != "" {
		if t, err := time.Parse(time.RFC3339, p.WaitingSince); err == nil {
			since = t
		}
	}
	st.WaitingSince = since.Format(time.RFC3339)
	left := since.Add(r.Timeout).Sub(tc.now)
	if left <= 0 {
		st.State, st.Reason = StateFailed, "Timeout"
		st.Message = fmt.Sprintf("not ready after %s (timeoutSeconds %d): %s", tc.now.Sub(since), int(r.Timeout/time.Second), st.Message)
		rs.failed = true
		return
	}
	tc.timeDep = true
	if wake := left + time.Second; tc.resync == 0 || wake < tc.resync {
		tc.resync = wake
	}
}

type depState struct {
	satisfied bool
	failed    bool
	message   string
}

func (tc *tenantCtx) dependencies(r *Resource) depState {
	var waiting, failed []string
	for _, d := range tc.tpl.Graph.DependsOn(r.ID) {
		s := tc.states()[d]
		switch {
		case s.failed:
			failed = append(failed, d)
		case !s.satisfied:
			waiting = append(waiting, d)
		}
	}
	switch {
	case len(failed) > 0:
		return depState{failed: true, message: "blocked by failed dependencies: " + strings.Join(failed, ", ")}
	case len(waiting) > 0:
		return depState{message: "waiting for dependencies to be ready: " + strings.Join(waiting, ", ")}
	}
	return depState{satisfied: true}
}

// states is filled by finish as the walk goes in dependency order.
func (tc *tenantCtx) states() map[string]resState {
	if tc.stateMap == nil {
		tc.stateMap = map[string]resState{}
	}
	return tc.stateMap
}

func (tc *tenantCtx) finish(r *Resource, st ResourceStatus, rs resState) {
	if st.State == StateFailed {
		rs.failed = true
	}
	tc.states()[r.ID] = rs
	tc.resources = append(tc.resources, st)
}
