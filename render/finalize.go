package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// finalize tears a Tenant down: Delete children go in reverse dependency
// order, one level per round (dependants first), Retain children are kept,
// marked as orphaned and anchored to their Namespace, and only when the
// observed state proves all of that is done does the answer say finalized.
//
// Everything is read from the observed children (their resource-id label and
// the deletion-policy and dependency-level annotations stamped at sync), so
// teardown works even when the template is already gone.
func (tc *tenantCtx) finalize() TenantOutput {
	since := object.String(tc.in.Tenant, "metadata", "deletionTimestamp")
	if since == "" {
		// Finalize also runs when a parent stops matching the controller's
		// selector; there is no deletion time then, so use the clock once.
		since = tc.now.Format(time.RFC3339)
	}
	type child struct {
		key   string
		o     object.Obj
		level int
	}
	known := tc.templateFacts()
	var retain, del []child
	maxLevel := -1
	for _, k := range ordered.Keys(tc.observed) {
		o := tc.observed[k]
		c := child{key: k, o: o, level: level(o, known[k])}
		if object.Kind(o) == "Namespace" {
			// A Namespace takes its contents with it: it goes last.
			c.level = -1
		}
		policy := object.String(o, "metadata", "annotations", AnnotationDeletionPolicy)
		if policy == "" && known[k] != nil {
			policy = known[k].DeletionPolicy
		}
		if policy == DeletionRetain {
			retain = append(retain, c)
			continue
		}
		del = append(del, c)
		if c.level > maxLevel {
			maxLevel = c.level
		}
	}

	var stuck []string
	for _, c := range del {
		st := ResourceStatus{ID: object.String(c.o, "metadata", "labels", LabelResourceID), Kind: object.Kind(c.o),
			Name: object.Name(c.o), Namespace: object.Namespace(c.o), State: StateDeleting}
		switch {
		case c.level < maxLevel:
			// Dependencies wait until their dependants are gone.
			tc.children = append(tc.children, keptObject(c.o))
			st.Reason, st.Message = "WaitingForDependants", fmt.Sprintf("deleted after dependency level %d is gone", maxLevel)
		case object.Terminating(c.o):
			fin := object.NestedSlice(c.o, "metadata", "finalizers")
			if len(fin) > 0 {
				var fs []string
				for _, f := range fin {
					fs = append(fs, fmt.Sprint(f))
				}
				st.Reason = "Stuck"
				st.Message = fmt.Sprintf("deletion requested at %s but the object still has finalizers: %s",
					object.String(c.o, "metadata", "deletionTimestamp"), strings.Join(fs, ", "))
				stuck = append(stuck, st.ID)
			} else {
				st.Reason, st.Message = "Terminating", "waiting for the API server to remove it"
			}
		default:
			st.Reason, st.Message = "Deleting", "left out of the desired set so Metacontroller deletes it"
		}
		tc.resources = append(tc.resources, st)
	}

	allMarked := true
	for _, c := range retain {
		tc.children = append(tc.children, tc.markOrphan(c.o, orphanSince(c.o, since), "TenantDeleted"))
		st := ResourceStatus{ID: object.String(c.o, "metadata", "labels", LabelResourceID), Kind: object.Kind(c.o),
			Name: object.Name(c.o), Namespace: object.Namespace(c.o), State: StateRetained, Reason: "TenantDeleted",
			Message: "kept because its deletionPolicy is Retain"}
		marked := object.String(c.o, "metadata", "labels", LabelOrphaned) == "true" && hasAnchor(c.o)
		if !marked {
			allMarked = false
			st.Message += "; waiting for the orphan markers and the Namespace owner to be applied"
			if tc.in.Namespace == nil || object.UID(tc.in.Namespace) == "" {
				st.Reason = "AnchorMissing"
				st.Message = "kept because its deletionPolicy is Retain, but the Tenant's Namespace was not delivered as a related object, " +
					"so it cannot be given a second owner; the Tenant stays until it can (check the tenant customize hook)"
			}
		}
		tc.resources = append(tc.resources, st)
	}

	out := tc.output()
	done := len(del) == 0 && allMarked
	out.Finalized = done
	conds := []any{}
	switch {
	case done:
		conds = append(conds, condition("Ready", "False", "Finalized", fmt.Sprintf("all children deleted; %d retained", len(retain))))
	case len(stuck) > 0:
		conds = append(conds, condition("Ready", "False", "TeardownStuck", "children with finalizers of their own: "+strings.Join(stuck, ", ")))
	default:
		conds = append(conds, condition("Ready", "False", "TearingDown", fmt.Sprintf("%d children to delete, %d retained", len(del), len(retain))))
	}
	out.Status["conditions"] = conds
	if !done {
		// Deletions raise watch events, but a finalizer held by someone else
		// does not; poll so a stuck child is re-examined and reported.
		out.ResyncAfter = 10 * time.Second
	}
	return out
}

// fact is what the template says about one observed child.
type fact struct {
	Level          int
	DeletionPolicy string
}

// templateFacts maps observed children to their template resource when the
// template is still there, for children that carry no annotations of ours
// (created by an older version, or by hand and adopted).
func (tc *tenantCtx) templateFacts() map[string]*fact {
	out := map[string]*fact{}
	if tc.in.Template == nil {
		return out
	}
	t, err := tc.e.templateOf(tc.in.Template, tc.in.TemplateKey)
	if err != nil {
		return out
	}
	tc.tpl = t
	tc.vars = Vars(tc.in.Tenant, t)
	for _, r := range t.Resources {
		o, err := tc.render(r)
		if err != nil {
			continue
		}
		out[object.Key(o)] = &fact{Level: t.Graph.Level(r.ID), DeletionPolicy: r.DeletionPolicy}
	}
	tc.tpl = nil
	return out
}

func level(o object.Obj, f *fact) int {
	n, err := strconv.Atoi(object.String(o, "metadata", "annotations", AnnotationLevel))
	if err == nil {
		return n
	}
	if f != nil {
		return f.Level
	}
	return 0
}

func orphanSince(o object.Obj, def string) string {
	if s := object.String(o, "metadata", "annotations", AnnotationOrphanedAt); s != "" {
		return s
	}
	return def
}
