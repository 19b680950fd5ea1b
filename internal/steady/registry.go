package steady

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// TenantStatusByTemplate converges one Tenant per template (row 1) through
// hook and returns each template's steady-state Tenant status, as
// Metacontroller wrote it (with observedGeneration). TenantStatusFor adapts
// it to another row.
func TenantStatusByTemplate(ctx context.Context, e *render.Engine, hook Hook, templates []object.Obj) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for _, t := range templates {
		states, err := TenantStates(ctx, e, []object.Obj{t}, []Row{RowN(1)})
		if err != nil {
			return nil, err
		}
		s := states[0]
		if _, _, err := s.Converge(hook, 20); err != nil {
			return nil, err
		}
		st, _ := s.Tenant["status"].(map[string]any)
		out[object.Name(t)] = st
	}
	return out, nil
}

// TenantStatusFor is the steady status of the Tenant of row uid, derived
// from the status of row 1 (RowN(1).UID) of the same template.
func TenantStatusFor(status map[string]any, uid string) map[string]any {
	b := bytes.ReplaceAll(Marshal(status), []byte(RowN(1).UID), []byte(uid))
	o, err := DecodeObj(b)
	if err != nil {
		panic(err)
	}
	return o
}

// ObservedTenant is a desired Tenant as the registry controller observes it
// once Metacontroller created it and the tenant controller wrote its status.
func ObservedTenant(desired, registry object.Obj, seq int, status map[string]any) object.Obj {
	t := Observe(desired, registry, seq, status)
	object.SetNested(t, []any{"metacontroller.io/compositecontroller-tenant-controller"}, "metadata", "finalizers")
	if status != nil {
		// The status writer is Metacontroller (the tenant controller), not
		// kube-controller-manager.
		mfs := object.NestedSlice(t, "metadata", "managedFields")
		if len(mfs) == 2 {
			mfs[1].(map[string]any)["manager"] = "metacontroller"
		}
	}
	return t
}

// RegistryRequest writes a registry sync request: the registry, its
// templates (related), and observed Tenants (children), streamed so that a
// request of hundreds of thousands of Tenants needs no map of them all.
// observed(i) returns the i-th observed Tenant, n of them.
func RegistryRequest(registry object.Obj, templates []object.Obj, n int, observed func(i int) object.Obj) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"controller":`)
	buf.Write(RegistryController())
	buf.WriteString(`,"parent":`)
	buf.Write(Marshal(registry))
	buf.WriteString(`,"children":{"Tenant.` + render.APIVersion + `":{`)
	for i := 0; i < n; i++ {
		o := observed(i)
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(Marshal(object.ObjKey(object.Namespace(o), object.Name(o))))
		buf.WriteByte(':')
		buf.Write(Marshal(o))
	}
	buf.WriteString(`}},"related":{"TenantTemplate.` + render.APIVersion + `":{`)
	for i, t := range templates {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(Marshal(object.ObjKey(object.Namespace(t), object.Name(t))))
		buf.WriteByte(':')
		buf.Write(Marshal(t))
	}
	buf.WriteString(`}},"finalizing":false}`)
	return buf.Bytes()
}

// DesiredBySync asks hook for the Tenants registry wants: its first sync,
// with nothing observed yet.
func DesiredBySync(hook Hook, registry object.Obj, templates []object.Obj) ([]object.Obj, error) {
	code, body, _ := hook("/hooks/registries/sync", RegistryRequest(registry, templates, 0, nil))
	if code != http.StatusOK {
		return nil, fmt.Errorf("first registry sync answered %d: %s", code, truncate(body))
	}
	return DesiredFromAnswer(body)
}

// SteadyRegistryRequest is the registry sync Metacontroller sends once every
// desired Tenant exists with its template's steady status (statuses, from
// TenantStatusByTemplate).
func SteadyRegistryRequest(registry object.Obj, templates, desired []object.Obj, statuses map[string]map[string]any) []byte {
	return RegistryRequest(registry, templates, len(desired), func(i int) object.Obj {
		d := desired[i]
		st := TenantStatusFor(statuses[object.String(d, "spec", "templateRef")], object.String(d, "spec", "uid"))
		return ObservedTenant(d, registry, i, st)
	})
}

// DesiredFromAnswer returns the children of a registry sync answer.
func DesiredFromAnswer(body []byte) ([]object.Obj, error) {
	var ans Answer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&ans); err != nil {
		return nil, fmt.Errorf("registry answer: %w (%s)", err, truncate(body))
	}
	return ans.Children, nil
}

func truncate(b []byte) string {
	s := string(b)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.TrimSpace(s)
}
