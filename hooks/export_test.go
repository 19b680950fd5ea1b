package hooks

import (
	"context"
	"net/http"
	"time"
)

// PanickingHook returns a hook, wrapped exactly like the real ones, whose
// handler reads the request body and then panics with v. No real handler has
// a path that panics (FuzzHookHTTP looks for one), so the tests of the panic
// recovery need this. It exists only in test binaries (export_test.go).
func (s *Server) PanickingHook(v any) http.Handler {
	return s.hook("test", "panic", func(_ context.Context, _ *http.Request, body []byte) (answer, error) {
		if len(body) >= 0 {
			panic(v)
		}
		return answer{}, nil
	})
}

// TenantRelated and TenantInputFrom let hooks/rules_test.go drive the real
// customize answer and request-to-input code from the in-memory
// Metacontroller model (render/sim.World); the decorators' customize answers
// are checked without a request.
var (
	TenantRelated    = tenantRelated
	TenantInputFrom  = tenantInputFrom
	NamespaceRelated = namespaceRelated
	AdoptionRelated  = adoptionRelated
)

// SetSnapshotClock replaces the clock of the shared row snapshots, so that
// the freshness rules of sharded registries are tested without waiting.
func (s *Server) SetSnapshotClock(now func() time.Time) { s.snapshots.SetClock(now) }
