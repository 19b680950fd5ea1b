package sim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Parents is Metacontroller and the API server in memory for several parents
// and controllers at once: what Cluster does for one parent, with the rules
// that decide which parent a child belongs to, played to the letter of the
// reference (Metacontroller §9.1 step 3, §6.2, §18, generateSelector):
//
//   - claim, before every sync: a parent's children are the objects of its
//     child kinds in its namespace (any namespace for a cluster parent)
//     with its controller reference and its controller-uid label; one with
//     its reference but another controller-uid is released (reference
//     removed, object kept); an orphan (no controller reference) whose
//     controller-uid matches is adopted; objects another parent controls
//     are ignored;
//   - label check: a desired child without controller-uid gets the
//     parent's; one carrying another aborts the whole round (nothing
//     applied, no status written);
//   - apply: observed children missing from the answer are deleted;
//     desired ones not observed are created, and creating an object that
//     already exists is ignored; observed ones are updated in place with
//     the answer winning every label, annotation and spec field
//     (server-side apply with force, the project's tuning — the worst case
//     for a label someone else just wrote);
//   - status: the answer's status replaces the parent's, with
//     observedGeneration;
//   - a decorator's labels are merged into its target's labels;
//   - the garbage collector deletes an object whose owners are all gone.
//
// A sync can be split (Claim+Sync, then Apply) so that tests can run other
// writers in between, as a real Metacontroller worker would see them.
type Parents struct {
	objs   map[string]object.Obj
	serial int
	// Deleted lists every object deletion, in order, as kind|ns/name.
	Deleted []string
	// Calls counts hook calls per parent; Writes counts child writes
	// (create, update, delete, adopt, release) made for each parent.
	Calls, Writes map[string]int
	// SSA plays server-side apply's no-op cache: an observed child whose
	// desired form and generation are those of the parent's last apply is
	// not written again, so a label someone else changed (which does not
	// bump a generation) is not reverted. Without it every difference is
	// written back (the default three-way merge).
	SSA     bool
	applied map[string]string
}

// NewParents returns an empty world of parents.
func NewParents() *Parents {
	return &Parents{objs: map[string]object.Obj{}, Calls: map[string]int{}, Writes: map[string]int{}, applied: map[string]string{}}
}

// ParentsKey identifies an object in a Parents.
func ParentsKey(o object.Obj) string {
	return object.Kind(o) + "|" + object.ObjKey(object.Namespace(o), object.Name(o))
}

// Create adds an object as a user would (kubectl create): it gets a uid.
func (w *Parents) Create(o object.Obj) object.Obj {
	o = object.DeepCopyMap(o)
	w.serial++
	md := object.Map(o, "metadata")
	md["uid"] = "uid-" + strconv.Itoa(w.serial)
	md["generation"] = json.Number("1")
	md["resourceVersion"] = strconv.Itoa(w.serial)
	w.objs[ParentsKey(o)] = o
	return o
}

// Get returns the stored object (not a copy) or nil.
func (w *Parents) Get(kind, namespace, name string) object.Obj {
	return w.objs[kind+"|"+object.ObjKey(namespace, name)]
}

// List returns the objects of a kind, sorted by key.
func (w *Parents) List(kind string) []object.Obj {
	var keys []string
	for k, o := range w.objs {
		if object.Kind(o) == kind {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]object.Obj, len(keys))
	for i, k := range keys {
		out[i] = w.objs[k]
	}
	return out
}

// Edit changes an object's spec or metadata as a user would; the
// generation follows spec changes.
func (w *Parents) Edit(o object.Obj, f func(object.Obj)) {
	before, _ := json.Marshal(o["spec"])
	f(o)
	after, _ := json.Marshal(o["spec"])
	w.touch(o, string(before) != string(after))
}

func (w *Parents) touch(o object.Obj, specChanged bool) {
	w.serial++
	md := object.Map(o, "metadata")
	md["resourceVersion"] = strconv.Itoa(w.serial)
	if specChanged {
		g, _ := object.Int64(o, "metadata", "generation")
		md["generation"] = json.Number(strconv.FormatInt(g+1, 10))
	}
}

// Controller is one CompositeController: its parent kind, child kinds and
// sync hook. The hook gets copies; an error is a non-200 answer.
type Controller struct {
	Parent   string
	Children []string
	Sync     func(parent object.Obj, children []object.Obj) (desired []object.Obj, status object.Obj, err error)
}

// Pending is a sync whose answer is computed but not yet applied.
type Pending struct {
	c        *Controller
	parent   string // world key
	uid      string
	observed map[string]bool
	desired  []object.Obj
	status   object.Obj
	Err      error
}

// Begin claims the parent's children and calls its hook.
func (w *Parents) Begin(c *Controller, parent object.Obj) *Pending {
	key := ParentsKey(parent)
	p := &Pending{c: c, parent: key, uid: object.UID(parent), observed: map[string]bool{}}
	children := w.claim(c, parent)
	copies := make([]object.Obj, len(children))
	for i, o := range children {
		copies[i] = object.DeepCopyMap(o)
		p.observed[ParentsKey(o)] = true
	}
	w.Calls[key]++
	p.desired, p.status, p.Err = c.Sync(object.DeepCopyMap(parent), copies)
	return p
}

func (w *Parents) claim(c *Controller, parent object.Obj) []object.Obj {
	uid, ns := object.UID(parent), object.Namespace(parent)
	kinds := map[string]bool{}
	for _, k := range c.Children {
		kinds[k] = true
	}
	var out []object.Obj
	for _, k := range w.sortedKeys() {
		o := w.objs[k]
		if !kinds[object.Kind(o)] || (ns != "" && object.Namespace(o) != ns) {
			continue
		}
		matches := object.String(o, "metadata", "labels", render.LabelControllerUID) == uid
		ctl := controllerOf(o)
		switch {
		case ctl == uid && !matches:
			dropOwnerRef(o, uid)
			w.touch(o, false)
			w.Writes[ParentsKey(parent)]++
		case ctl == uid:
			out = append(out, o)
		case ctl == "" && matches && !object.Terminating(parent):
			md := object.Map(o, "metadata")
			refs, _ := md["ownerReferences"].([]any)
			md["ownerReferences"] = append(refs, ownerRef(parent))
			w.touch(o, false)
			w.Writes[ParentsKey(parent)]++
			out = append(out, o)
		}
	}
	return out
}

func ownerRef(parent object.Obj) map[string]any {
	return map[string]any{"controller": true, "uid": object.UID(parent), "kind": object.Kind(parent), "name": object.Name(parent)}
}

// Apply reconciles the answer of a Begin, as Metacontroller does after the
// hook returned. It returns the round's error (a failed hook or label
// check: nothing applied).
func (w *Parents) Apply(p *Pending) error {
	if p.Err != nil {
		return p.Err
	}
	parent := w.objs[p.parent]
	if parent == nil || object.UID(parent) != p.uid {
		return fmt.Errorf("parent %s is gone", p.parent)
	}
	want := map[string]object.Obj{}
	for _, d := range p.desired {
		d = object.DeepCopyMap(d)
		md := object.Map(d, "metadata")
		if md == nil {
			return fmt.Errorf("%s: a child without metadata", p.parent)
		}
		if _, ok := md["namespace"]; !ok && object.Namespace(parent) != "" {
			md["namespace"] = object.Namespace(parent)
		}
		labels, _ := md["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
			md["labels"] = labels
		}
		if v, ok := labels[render.LabelControllerUID]; !ok {
			labels[render.LabelControllerUID] = p.uid
		} else if v != p.uid {
			return fmt.Errorf("%s: child %s has controller-uid %v, not the parent's: round aborted", p.parent, ParentsKey(d), v)
		}
		want[ParentsKey(d)] = d
	}
	for _, k := range sortedStrings(p.observed) {
		if _, ok := want[k]; ok {
			continue
		}
		if _, exists := w.objs[k]; exists {
			w.delete(k)
			w.Writes[p.parent]++
		}
	}
	for _, k := range ordered.Keys(want) {
		d := want[k]
		cur, exists := w.objs[k]
		if !p.observed[k] {
			if exists {
				continue // "already exists": ignored
			}
			md := object.Map(d, "metadata")
			md["ownerReferences"] = []any{ownerRef(parent)}
			w.serial++
			md["uid"] = "uid-" + strconv.Itoa(w.serial)
			md["generation"] = json.Number("1")
			md["resourceVersion"] = strconv.Itoa(w.serial)
			w.objs[k] = d
			w.Writes[p.parent]++
			continue
		}
		if !exists {
			continue // 404 on update: ignored, the next event retries
		}
		var sum []byte
		cacheKey, stamp := p.parent+"→"+k, ""
		if w.SSA {
			sum, _ = json.Marshal(d)
			stamp = string(sum) + "@" + strconv.FormatInt(object.Generation(cur), 10) + "@" + object.UID(cur)
			if w.applied[cacheKey] == stamp {
				continue
			}
		}
		next := object.DeepCopyMap(cur)
		nmd, dmd := object.Map(next, "metadata"), object.Map(d, "metadata")
		for _, f := range []string{"labels", "annotations"} {
			merged, _ := nmd[f].(map[string]any)
			if merged == nil {
				merged = map[string]any{}
			}
			for lk, lv := range object.NestedMap(dmd, f) {
				merged[lk] = lv
			}
			if len(merged) > 0 {
				nmd[f] = merged
			}
		}
		if s, ok := d["spec"]; ok {
			next["spec"] = s
		} else {
			delete(next, "spec")
		}
		if sameJSON(next, cur) {
			if w.SSA {
				w.applied[cacheKey] = stamp
			}
			continue
		}
		specChanged := !sameJSON(next["spec"], cur["spec"])
		w.objs[k] = next
		w.touch(next, specChanged)
		w.Writes[p.parent]++
		if w.SSA {
			w.applied[cacheKey] = string(sum) + "@" + strconv.FormatInt(object.Generation(next), 10) + "@" + object.UID(next)
		}
	}
	if p.status != nil {
		st := object.DeepCopyMap(p.status)
		st["observedGeneration"] = json.Number(strconv.FormatInt(object.Generation(parent), 10))
		parent["status"] = st
	}
	w.GC()
	return nil
}

// Sync is Begin then Apply.
func (w *Parents) Sync(c *Controller, parent object.Obj) error { return w.Apply(w.Begin(c, parent)) }

// SyncAll syncs every parent of the controller once, in key order.
func (w *Parents) SyncAll(c *Controller) []error {
	var errs []error
	for _, p := range w.List(c.Parent) {
		if err := w.Sync(c, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Decorate merges a DecoratorController's label answer into its target.
func (w *Parents) Decorate(o object.Obj, labels map[string]*string) {
	if len(labels) == 0 {
		return
	}
	md := object.Map(o, "metadata")
	l, _ := md["labels"].(map[string]any)
	if l == nil {
		l = map[string]any{}
		md["labels"] = l
	}
	for k, v := range labels {
		if v == nil {
			delete(l, k)
		} else {
			l[k] = *v
		}
	}
	w.touch(o, false)
}

// GC plays the garbage collector: references to objects that no longer
// exist are dropped, and an object whose owners are all gone is deleted.
func (w *Parents) GC() {
	for {
		uids := map[string]bool{}
		for _, o := range w.objs {
			uids[object.UID(o)] = true
		}
		var doomed []string
		for _, k := range w.sortedKeys() {
			refs := object.NestedSlice(w.objs[k], "metadata", "ownerReferences")
			if len(refs) == 0 {
				continue
			}
			alive := 0
			for _, r := range refs {
				if m, ok := r.(map[string]any); ok && uids[fmt.Sprint(m["uid"])] {
					alive++
				}
			}
			if alive == 0 {
				doomed = append(doomed, k)
			}
		}
		if len(doomed) == 0 {
			return
		}
		for _, k := range doomed {
			w.delete(k)
		}
	}
}

func (w *Parents) delete(k string) {
	delete(w.objs, k)
	w.Deleted = append(w.Deleted, k)
}

// sameJSON compares two values as JSON: map order and the numeric types
// of decoded and built objects (json.Number, int) do not matter.
func sameJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}

func (w *Parents) sortedKeys() []string { return ordered.Keys(w.objs) }

// ControllerOf returns the uid of an object's controller ("" for none).
func ControllerOf(o object.Obj) string { return controllerOf(o) }

func sortedStrings(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
