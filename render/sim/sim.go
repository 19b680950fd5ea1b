package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Cluster holds the children of one parent as the API server would.
type Cluster struct {
	// ParentUID is the uid stamped into controller-uid labels.
	ParentUID string
	// Hold lists resource ids the cluster never makes ready.
	Hold map[string]bool
	// Fail lists resource ids the cluster makes fail (a Job fails, a
	// Deployment exceeds its progress deadline).
	Fail map[string]bool
	// NotReady, when true, makes nothing ready (objects only exist).
	NotReady bool
	// Merge makes an update keep what only the current object has (server
	// defaults, fields of other managers, other owners), like
	// Metacontroller's server-side apply: the desired fields are set into
	// the current object, maps merged key by key and lists of the same
	// length item by item (a list of another length is replaced). Without
	// it an update replaces the object with the desired one. Generation is
	// then bumped only when something outside metadata changed, as the API
	// server does.
	Merge bool

	objects map[string]object.Obj
	serial  int
	// Creates, Updates and Deletes count API writes, like Metacontroller's.
	Creates, Updates, Deletes int
	// onWrite, when set, is told the kind of every object written.
	onWrite func(kind string)
}

func (c *Cluster) wrote(o object.Obj) {
	if c.onWrite != nil {
		c.onWrite(object.Kind(o))
	}
}

// New returns an empty cluster.
func New(parentUID string) *Cluster {
	return &Cluster{ParentUID: parentUID, objects: map[string]object.Obj{}}
}

// Objects returns the cluster's objects sorted by key.
func (c *Cluster) Objects() []object.Obj {
	keys := ordered.Keys(c.objects)
	out := make([]object.Obj, len(keys))
	for i, k := range keys {
		out[i] = c.objects[k]
	}
	return out
}

// Claim does what Metacontroller does before every call: adopt orphans (no
// controller reference) whose labels match the parent's selector, release
// owned objects whose labels stopped matching, and return the parent's
// children.
func (c *Cluster) Claim() []object.Obj {
	var out []object.Obj
	for _, o := range c.Objects() {
		matches := object.String(o, "metadata", "labels", render.LabelControllerUID) == c.ParentUID
		switch {
		case c.owned(o) && !matches:
			dropOwnerRef(o, c.ParentUID)
		case c.owned(o):
			out = append(out, o)
		case matches && controllerOf(o) == "":
			md := object.Map(o, "metadata")
			refs, _ := md["ownerReferences"].([]any)
			md["ownerReferences"] = append([]any{map[string]any{"controller": true, "uid": c.ParentUID}}, refs...)
			out = append(out, o)
		}
	}
	return out
}

// DeleteParent plays the garbage collector after the parent is gone: the
// parent's references are removed and objects left without any owner are
// deleted. It returns the objects that survived with another owner.
func (c *Cluster) DeleteParent() []object.Obj {
	var kept []object.Obj
	for k, o := range c.objects {
		if !c.hasRef(o, c.ParentUID) {
			continue
		}
		dropOwnerRef(o, c.ParentUID)
		c.wrote(o)
		if len(object.NestedSlice(o, "metadata", "ownerReferences")) == 0 {
			delete(c.objects, k)
			continue
		}
		kept = append(kept, o)
	}
	return kept
}

func (c *Cluster) hasRef(o object.Obj, uid string) bool {
	for _, r := range object.NestedSlice(o, "metadata", "ownerReferences") {
		if m, ok := r.(map[string]any); ok && m["uid"] == uid {
			return true
		}
	}
	return false
}

// dropOwnerRef removes the ownerReference to uid, as Metacontroller's
// release and the garbage collector's orphaning do (every model here uses it).
func dropOwnerRef(o object.Obj, uid string) {
	md := object.Map(o, "metadata")
	var refs []any
	for _, r := range object.NestedSlice(o, "metadata", "ownerReferences") {
		if m, ok := r.(map[string]any); ok && m["uid"] == uid {
			continue
		}
		refs = append(refs, r)
	}
	if len(refs) == 0 {
		delete(md, "ownerReferences")
		return
	}
	md["ownerReferences"] = refs
}

func controllerOf(o object.Obj) string {
	for _, r := range object.NestedSlice(o, "metadata", "ownerReferences") {
		if m, ok := r.(map[string]any); ok {
			if ctl, _ := m["controller"].(bool); ctl {
				uid, _ := m["uid"].(string)
				return uid
			}
		}
	}
	return ""
}

// Put adds an object as if someone else had created it.
func (c *Cluster) Put(o object.Obj) { c.objects[object.Key(o)] = o }

// Delete removes an object as if the API server had finished deleting it.
func (c *Cluster) Delete(o object.Obj) { delete(c.objects, object.Key(o)) }

// Apply reconciles desired children like Metacontroller's InPlace strategy:
// deletes first, then creates and updates. Finalized answers are not applied
// (Metacontroller removes its finalizer first and lets the GC clean up).
func (c *Cluster) Apply(children []object.Obj) {
	want := map[string]object.Obj{}
	for _, o := range children {
		want[object.Key(o)] = o
	}
	for k, o := range c.objects {
		if !c.owned(o) {
			continue
		}
		if _, ok := want[k]; !ok {
			if len(object.NestedSlice(o, "metadata", "finalizers")) > 0 {
				if object.Nested(o, "metadata", "deletionTimestamp") == nil {
					object.SetNested(o, "2026-01-01T00:00:00Z", "metadata", "deletionTimestamp")
					c.Deletes++
					c.wrote(o)
				}
				continue
			}
			delete(c.objects, k)
			c.Deletes++
			c.wrote(o)
		}
	}
	for _, k := range ordered.Keys(want) {
		d := want[k]
		cur, exists := c.objects[k]
		if exists && !c.owned(cur) {
			// Metacontroller ignores "already exists" on create.
			continue
		}
		next := object.DeepCopyMap(d)
		md := object.Map(next, "metadata")
		labels, _ := md["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
			md["labels"] = labels
		}
		if _, ok := labels[render.LabelControllerUID]; !ok {
			labels[render.LabelControllerUID] = c.ParentUID
		}
		var refs []any
		for _, r := range object.NestedSlice(next, "metadata", "ownerReferences") {
			if m, ok := r.(map[string]any); ok && m["uid"] != c.ParentUID {
				refs = append(refs, r)
			}
		}
		md["ownerReferences"] = append([]any{map[string]any{"controller": true, "uid": c.ParentUID}}, refs...)
		if !exists {
			c.serial++
			md["uid"] = "uid-" + strconv.Itoa(c.serial)
			md["generation"] = json.Number("1")
			md["resourceVersion"] = strconv.Itoa(c.serial)
			c.objects[k] = next
			c.Creates++
			c.wrote(next)
			continue
		}
		if c.Merge && exists {
			next = merged(cur, next, c.ParentUID)
			if reflect.DeepEqual(normalize(cur), normalize(next)) {
				continue
			}
			if !sameOutsideMetadata(cur, next) {
				gen, _ := object.Int64(cur, "metadata", "generation")
				object.Map(next, "metadata")["generation"] = json.Number(strconv.FormatInt(gen+1, 10))
			}
			c.serial++
			object.Map(next, "metadata")["resourceVersion"] = strconv.Itoa(c.serial)
			c.objects[k] = next
			c.Updates++
			continue
		}
		if sameDesired(cur, next) {
			continue
		}
		gen, _ := object.Int64(cur, "metadata", "generation")
		md["uid"] = object.UID(cur)
		md["generation"] = json.Number(strconv.FormatInt(gen+1, 10))
		c.serial++
		md["resourceVersion"] = strconv.Itoa(c.serial)
		if st, ok := cur["status"]; ok {
			next["status"] = st
		}
		c.objects[k] = next
		c.Updates++
		c.wrote(next)
	}
}

// merged is cur with desired applied onto it (see Cluster.Merge). The
// ownerReferences of cur are kept (the parent's controller reference is among
// them, as the object is owned) and desired's other owners are added.
func merged(cur, desired object.Obj, parentUID string) object.Obj {
	out := object.DeepCopyMap(cur)
	d := object.DeepCopyMap(desired)
	dmd := object.Map(d, "metadata")
	extra := object.NestedSlice(d, "metadata", "ownerReferences")
	delete(dmd, "ownerReferences")
	for _, f := range []string{"uid", "generation", "resourceVersion"} {
		delete(dmd, f)
	}
	delete(d, "status")
	mergeInto(out, d)
	md := object.Map(out, "metadata")
	refs := object.NestedSlice(out, "metadata", "ownerReferences")
	for _, r := range extra {
		m, _ := r.(map[string]any)
		uid, _ := m["uid"].(string)
		have := false
		for _, x := range refs {
			if xm, _ := x.(map[string]any); xm["uid"] == uid {
				have = true
			}
		}
		if !have && uid != parentUID {
			refs = append(refs, r)
		}
	}
	md["ownerReferences"] = refs
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, sv := range src {
		dv, ok := dst[k]
		if !ok {
			dst[k] = sv
			continue
		}
		switch s := sv.(type) {
		case map[string]any:
			if d, ok := dv.(map[string]any); ok {
				mergeInto(d, s)
				continue
			}
		case []any:
			if d, ok := dv.([]any); ok && len(d) == len(s) {
				for i := range s {
					sm, ok1 := s[i].(map[string]any)
					dm, ok2 := d[i].(map[string]any)
					if ok1 && ok2 {
						mergeInto(dm, sm)
					} else {
						d[i] = s[i]
					}
				}
				continue
			}
		}
		dst[k] = sv
	}
}

func sameOutsideMetadata(a, b object.Obj) bool {
	x, y := object.DeepCopyMap(a), object.DeepCopyMap(b)
	for _, o := range []object.Obj{x, y} {
		delete(o, "metadata")
		delete(o, "status")
	}
	return reflect.DeepEqual(normalize(x), normalize(y))
}

// owned: the object carries this parent's controller reference.
func (c *Cluster) owned(o object.Obj) bool { return controllerOf(o) == c.ParentUID }

func sameDesired(cur, next object.Obj) bool {
	a, b := object.StripServerFields(cur), object.StripServerFields(next)
	return reflect.DeepEqual(normalize(a), normalize(b))
}

func normalize(o object.Obj) any {
	b, _ := json.Marshal(o)
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

// Settle lets the cluster's controllers run: every owned object that is not
// held becomes ready by its kind's rules (or fails, if asked to).
func (c *Cluster) Settle() {
	if c.NotReady {
		return
	}
	for _, o := range c.objects {
		id := object.String(o, "metadata", "labels", render.LabelResourceID)
		if c.Hold[id] {
			continue
		}
		MakeReady(o, c.Fail[id])
	}
}

// MakeReady writes the status a healthy (or failed) object of its kind has.
func MakeReady(o object.Obj, fail bool) {
	gen, _ := object.Int64(o, "metadata", "generation")
	num := func(i int64) json.Number { return json.Number(strconv.FormatInt(i, 10)) }
	replicas := int64(1)
	if r, ok := object.Int64(o, "spec", "replicas"); ok {
		replicas = r
	}
	switch object.Kind(o) {
	case "Deployment":
		st := map[string]any{"observedGeneration": num(gen), "replicas": num(replicas), "updatedReplicas": num(replicas),
			"availableReplicas": num(replicas), "readyReplicas": num(replicas)}
		if fail {
			st["availableReplicas"] = num(0)
			st["conditions"] = []any{map[string]any{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}}
		}
		o["status"] = st
	case "StatefulSet":
		o["status"] = map[string]any{"observedGeneration": num(gen), "replicas": num(replicas), "updatedReplicas": num(replicas),
			"readyReplicas": num(replicas), "availableReplicas": num(replicas), "currentRevision": "r1", "updateRevision": "r1"}
	case "DaemonSet":
		o["status"] = map[string]any{"observedGeneration": num(gen), "desiredNumberScheduled": num(1), "numberReady": num(1),
			"updatedNumberScheduled": num(1), "numberAvailable": num(1)}
	case "Job":
		typ := "Complete"
		if fail {
			typ = "Failed"
		}
		o["status"] = map[string]any{"conditions": []any{map[string]any{"type": typ, "status": "True", "reason": typ}}}
	case "PersistentVolumeClaim":
		o["status"] = map[string]any{"phase": "Bound"}
	case "Namespace":
		o["status"] = map[string]any{"phase": "Active"}
	case "Service":
		if object.String(o, "spec", "type") == "LoadBalancer" {
			o["status"] = map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "192.0.2.10"}}}}
		}
	}
}

// Round is one hook call and its answer.
type Round struct {
	Children  []object.Obj
	Status    object.Obj
	Finalized bool
}

// Converge drives a tenant through rounds until the answer stops changing
// (or maxRounds). It returns every round's answer; the last one is the
// fixpoint. The Tenant's status is fed back like Metacontroller's status
// write, because the status is the hook's only memory.
func Converge(ctx context.Context, e *render.Engine, in render.TenantInput, c *Cluster, maxRounds int) ([]Round, error) {
	var rounds []Round
	var prev []byte
	tenant := object.DeepCopyMap(in.Tenant)
	for i := 0; i < maxRounds; i++ {
		in.Tenant = tenant
		in.Observed = c.Claim()
		out, err := e.SyncTenant(ctx, in)
		if err != nil {
			return rounds, err
		}
		rounds = append(rounds, Round{Children: out.Children, Status: out.Status, Finalized: out.Finalized})
		if out.Finalized {
			return rounds, nil
		}
		c.Apply(out.Children)
		c.Settle()
		tenant["status"] = out.Status
		cur, _ := json.Marshal(struct {
			C []object.Obj
			S object.Obj
			O []object.Obj
		}{out.Children, out.Status, c.Objects()})
		if prev != nil && string(cur) == string(prev) {
			return rounds, nil
		}
		prev = cur
	}
	return rounds, fmt.Errorf("no fixpoint after %d rounds", maxRounds)
}
