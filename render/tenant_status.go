package render

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

func condition(typ, status, reason, message string) map[string]any {
	c := map[string]any{"type": typ, "status": status, "reason": reason}
	if message != "" {
		c["message"] = message
	}
	return c
}

// output assembles the answer: children sorted by type and key (order is
// irrelevant to Metacontroller but byte-stable output is not), status.
func (tc *tenantCtx) output() TenantOutput {
	children := tc.children
	if children == nil {
		children = []object.Obj{}
	}
	sortByKey(children)

	var ready, failed, desired int
	var waiting, pending, retained int
	var failedIDs, waitingIDs []string
	res := make([]any, 0, len(tc.resources))
	for _, r := range tc.resources {
		switch r.State {
		case StateReady:
			ready++
		case StateFailed:
			failed++
			failedIDs = append(failedIDs, r.ID)
		case StateWaiting:
			waiting++
			waitingIDs = append(waitingIDs, r.ID)
		case StatePending:
			pending++
			waitingIDs = append(waitingIDs, r.ID)
		case StateRetained:
			retained++
		}
		if r.State != StateRetained {
			desired++
		}
		res = append(res, r.asMap())
	}
	status := map[string]any{
		"desiredResources": desired,
		"readyResources":   ready,
		"failedResources":  failed,
		"resources":        res,
	}
	if tc.tpl != nil {
		status["templateGeneration"] = tc.tpl.Generation
	}
	var conds []any
	switch {
	case desired == 0:
		conds = append(conds, condition("Ready", "True", "NoResources", "the template declares no resources"))
	case ready == desired:
		conds = append(conds, condition("Ready", "True", "AllResourcesReady", fmt.Sprintf("%d/%d resources ready", ready, desired)))
	case failed > 0:
		conds = append(conds, condition("Ready", "False", "ResourcesFailed", fmt.Sprintf("%d/%d resources ready; failed: %s", ready, desired, strings.Join(failedIDs, ", "))))
	default:
		conds = append(conds, condition("Ready", "False", "ResourcesNotReady", fmt.Sprintf("%d/%d resources ready; waiting: %s", ready, desired, strings.Join(waitingIDs, ", "))))
	}
	if waiting+pending > 0 {
		conds = append(conds, condition("Progressing", "True", "Converging", fmt.Sprintf("%d waiting for readiness, %d waiting for dependencies", waiting, pending)))
	} else {
		conds = append(conds, condition("Progressing", "False", "Converged", ""))
	}
	if failed > 0 {
		conds = append(conds, condition("Degraded", "True", "ResourceFailures", fmt.Sprintf("%d failed: %s", failed, strings.Join(failedIDs, ", "))))
	} else {
		conds = append(conds, condition("Degraded", "False", "Healthy", ""))
	}
	status["conditions"] = conds
	return TenantOutput{Children: children, Status: status, ResyncAfter: tc.resync, TimeDependent: tc.timeDep}
}

// sortByKey sorts objects by object.Key, stably, working out each key once
// rather than twice per comparison.
func sortByKey(objs []object.Obj) {
	type keyed struct {
		k string
		o object.Obj
	}
	ks := make([]keyed, len(objs))
	for i, o := range objs {
		ks[i] = keyed{object.Key(o), o}
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].k < ks[j].k })
	for i := range ks {
		objs[i] = ks[i].o
	}
}
