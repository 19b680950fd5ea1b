package wire_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/internal/fixtures"
	"github.com/tenant-hooks/tenant-hooks/internal/steady"
	"github.com/tenant-hooks/tenant-hooks/render"
)

// requireSameRequest compares two decoded registry requests, the kept form
// of every child included.
func requireSameRequest(t testing.TB, want, got *wire.RegistryRequest, msg string) {
	t.Helper()
	require.Equal(t, string(want.Controller), string(got.Controller), "%s: controller", msg)
	require.True(t, reflect.DeepEqual(want.Parent, got.Parent), "%s: parent\nwant %v\ngot  %v", msg, want.Parent, got.Parent)
	require.True(t, reflect.DeepEqual(want.Related, got.Related), "%s: related", msg)
	require.Nil(t, got.Children, "%s: children are summarised", msg)
	require.Equal(t, want.Finalizing, got.Finalizing, "%s: finalizing", msg)
	require.Len(t, got.Observed, len(want.Observed), "%s: observed", msg)
	for i, w := range want.Observed {
		g := got.Observed[i]
		require.Equal(t, w.Name, g.Name, "%s: child %d", msg, i)
		require.Equal(t, w.Terminating, g.Terminating, "%s: %s terminating", msg, w.Name)
		require.Equal(t, w.Ready, g.Ready, "%s: %s ready", msg, w.Name)
		require.Equal(t, w.Failed, g.Failed, "%s: %s failed", msg, w.Name)
		require.Equal(t, w.Owned, g.Owned, "%s: %s owned", msg, w.Name)
		wk, gk := w.Kept(), g.Kept()
		require.True(t, reflect.DeepEqual(wk, gk), "%s: %s kept\nwant %v\ngot  %v", msg, w.Name, wk, gk)
	}
}

// readers cut a body in every way a network may deliver it.
func readers(b []byte) map[string]io.Reader {
	rnd := rand.New(rand.NewPCG(uint64(len(b)), 7))
	return map[string]io.Reader{
		"whole":    bytes.NewReader(b),
		"one byte": iotest.OneByteReader(bytes.NewReader(b)),
		"halves":   iotest.HalfReader(bytes.NewReader(b)),
		"random":   &randomChunks{r: bytes.NewReader(b), rnd: rnd},
	}
}

type randomChunks struct {
	r   io.Reader
	rnd *rand.Rand
}

func (c *randomChunks) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1+c.rnd.IntN(min(len(p), 9000))]
	}
	return c.r.Read(p)
}

// Every captured request (registry ones and any other composite or
// decorator body) decodes as it streams in exactly as it does in memory,
// however the network cuts it.
func TestRegistryStreamMatchesWholeDecoding(t *testing.T) {
	registries := 0
	for name, b := range fixtures.Requests(t) {
		want, wantErr := wire.DecodeRegistryWhole(b)
		for how, r := range readers(b) {
			got, err := wire.DecodeRegistryStream(r, 0)
			if wantErr != nil {
				require.Error(t, err, "%s (%s): in memory: %v", name, how, wantErr)
				continue
			}
			require.NoError(t, err, "%s (%s)", name, how)
			requireSameRequest(t, want, got, name+" ("+how+")")
		}
		if strings.HasPrefix(name, "registry-sync") {
			require.NoError(t, wantErr, name)
			if len(want.Observed) > 0 {
				registries++
			}
		}
	}
	require.GreaterOrEqual(t, registries, 4, "captured registry syncs with observed Tenants")
}

// The read buffer holds one child plus one read, never the request: a
// steady-state registry of 2,000 Tenants (≈ 9 MB) streams through the
// initial 64 KiB.
func TestRegistryStreamHoldsOneChildAtATime(t *testing.T) {
	body := steadyRegistryRequest(t, 1000)
	require.Greater(t, len(body), 8<<20)
	req, bufCap, _, err := wire.DecodeRegistryStreamStats(bytes.NewReader(body))
	require.NoError(t, err)
	require.Len(t, req.Observed, 2000)
	require.Equal(t, wire.ReadBufferSize, bufCap, "the read buffer grew: something was held whole")

	want, err := wire.DecodeRegistryWhole(body)
	require.NoError(t, err)
	requireSameRequest(t, want, req, "steady state")
}

// streamEdges are hand-made bodies around the stream decoder's edges.
var streamEdges = func() map[string]string {
	parent := `"parent":{"apiVersion":"operator.kubernetes-tenants.org/v1","kind":"TenantRegistry","metadata":{"name":"r","namespace":"ns"}}`
	tenant := func(name, extra string) string {
		return `{"apiVersion":"operator.kubernetes-tenants.org/v1","kind":"Tenant","metadata":{"name":"` + name + `","namespace":"ns","uid":"u-` + name + `","annotations":{"a":"1","metacontroller.k8s.io/last-applied-configuration":"{\"x\\\"}\"}"}` + extra + `},"spec":{"uid":"` + name + `","values":{"q":"a \" } ] \\"}},"status":{"conditions":[{"type":"Ready","status":"True"}]}}`
	}
	return map[string]string{
		"empty children":                  `{` + parent + `,"children":{}}`,
		"null children":                   `{` + parent + `,"children":null}`,
		"null type":                       `{` + parent + `,"children":{"Tenant.x/v1":null}}`,
		"children first":                  `{"children":{"Tenant.x/v1":{"ns/a":` + tenant("a", "") + `}},` + parent + `}`,
		"two children":                    `{` + parent + `,"children":{"Tenant.x/v1":{"ns/b":` + tenant("b", "") + `,"ns/a":` + tenant("a", "") + `}}}`,
		"duplicate child":                 `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":` + tenant("a", "") + `,"ns/a":` + tenant("a2", "") + `}}}`,
		"duplicate type":                  `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":` + tenant("a", "") + `},"Tenant.x/v1":{"ns/b":` + tenant("b", "") + `}}}`,
		"terminating":                     `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":` + tenant("a", `,"deletionTimestamp":"2026-01-01T00:00:00Z"`) + `}}}`,
		"only last-applied":               `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a","annotations":{"metacontroller.k8s.io/last-applied-configuration":"{}"}}}}}}`,
		"null annotations":                `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a","annotations":null}}}}}`,
		"string annotations":              `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a","annotations":"x"}}}}}`,
		"null metadata":                   `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":null,"spec":{}}}}}`,
		"duplicate metadata":              `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a"},"metadata":{"name":"b"}}}}}`,
		"duplicate name":                  `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a","name":"b"}}}}}`,
		"escaped keys":                    `{"pa\u0072ent":{"kind":"X","metadata":{"name":"r"}},"child\u0072en":{"Tenant.x/v1":{"ns/\u00e9":{"metadata":{"n\u0061me":"\u00e9"}}}}}`,
		"numbers and literals":            `{` + parent + `,"finalizing":false,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a","generation":12,"x":[true,false,null,-1.5e3]}}}}}`,
		"whitespace":                      " \n{ \t" + parent + " ,\r\n \"children\" : { \"Tenant.x/v1\" : { \"ns/a\" : " + tenant("a", "") + " } } , \"finalizing\" : true } \n",
		"not an object":                   `[1,2]`,
		"null body":                       `null`,
		"empty body":                      ``,
		"truncated":                       `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a"`,
		"truncated in string":             `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a\`,
		"trailing data":                   `{` + parent + `} {}`,
		"trailing comma":                  `{` + parent + `,}`,
		"missing colon":                   `{"parent" {}}`,
		"bad child syntax":                `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":a}}}}}`,
		"null child":                      `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":null}}}`,
		"child is a string":               `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":"x"}}}`,
		"children is an array":            `{` + parent + `,"children":[]}`,
		"type is an array":                `{` + parent + `,"children":{"Tenant.x/v1":[]}}`,
		"unknown key":                     `{` + parent + `,"surprise":1}`,
		"unbalanced close":                `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a"]}}}}`,
		"invalid utf-8 in child":          `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a"},"spec":{"v":"` + "\xff\xfe" + `"}}}}}`,
		"lone surrogate":                  `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"\ud800"}}}}}`,
		"deep child":                      `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a"},"spec":` + strings.Repeat(`[`, 9500) + strings.Repeat(`]`, 9500) + `}}}}`,
		"too deep child":                  `{` + parent + `,"children":{"Tenant.x/v1":{"ns/a":{"metadata":{"name":"a"},"spec":` + strings.Repeat(`[`, 11000) + strings.Repeat(`]`, 11000) + `}}}}`,
		"scalar at the end of the stream": `1`,
		"large non-object":                strings.Repeat(`[`, 2<<20) + strings.Repeat(`]`, 2<<20),
	}
}()

// Each edge decodes as in memory, or both fail.
func TestRegistryStreamEdges(t *testing.T) {
	for name, body := range streamEdges {
		b := []byte(body)
		want, wantErr := wire.DecodeRegistryWhole(b)
		for how, r := range readers(b) {
			got, err := wire.DecodeRegistryStream(r, 0)
			if wantErr != nil {
				require.Error(t, err, "%s (%s): in memory: %v", name, how, wantErr)
				var de *wire.DecodeError
				require.ErrorAs(t, err, &de, "%s (%s): a malformed body is a 400", name, how)
				continue
			}
			require.NoError(t, err, "%s (%s)", name, how)
			requireSameRequest(t, want, got, name+" ("+how+")")
		}
	}
}

// The one thing Decode would accept that the stream rejects, on purpose.
func TestRegistryStreamRejectsAmbiguousChildren(t *testing.T) {
	body := `{"parent":{"kind":"X"},"Children":{}}`
	_, err := wire.DecodeRegistryWhole([]byte(body))
	require.NoError(t, err)
	_, err = wire.DecodeRegistryStream(strings.NewReader(body), 0)
	var de *wire.DecodeError
	require.ErrorAs(t, err, &de)
}

// A key twice anywhere in a registry request is a DuplicateKeyError for
// the stream as for the in-memory decoding (encoding/json would take the
// last one): in the envelope, in children, in a child at a level the
// stream summarises, and deep inside a child it only copies.
func TestRegistryStreamRejectsDuplicateKeys(t *testing.T) {
	child := func(s string) string { return `{"parent":{"kind":"X"},"children":{"T.v1":{"ns/a":` + s + `}}}` }
	for body, want := range map[string]string{
		`{"parent":{"kind":"X"},"children":{},"children":{}}`:                                    `duplicate key "children" in the envelope`,
		`{"parent":{"kind":"X"},"finalizing":false,"finalizing":true}`:                           `duplicate key "finalizing" in the envelope`,
		`{"parent":{"kind":"X"},"children":{"T.v1":{},"T.v1":{}}}`:                               `duplicate key "T.v1" in children`,
		`{"parent":{"kind":"X"},"children":{"T.v1":{"ns/a":{},"ns/a":{}}}}`:                      `duplicate key "ns/a" in children["T.v1"]`,
		child(`{"metadata":{"name":"a","name":"b"}}`):                                            `duplicate key "name" in children["T.v1"]["ns/a"].metadata`,
		child(`{"metadata":{"name":"a"},"spec":{"uid":"x","uid":"y"}}`):                          `duplicate key "uid" in children["T.v1"]["ns/a"].spec`,
		child(`{"metadata":{"name":"a","labels":{"l":"1","l":"2"}}}`):                            `duplicate key "l" in children["T.v1"]["ns/a"].metadata.labels`,
		child(`{"metadata":{"name":"a","annotations":{"k":"1","k":"2"}}}`):                       `duplicate key "k" in children["T.v1"]["ns/a"].metadata.annotations`,
		child(`{"metadata":{"name":"a"},"status":{"phase":1,"phase":2}}`):                        `duplicate key "phase" in children["T.v1"]["ns/a"].status`,
		child(`{"metadata":{"name":"a"},"status":{"conditions":[{"type":"Ready","type":"X"}]}}`): `duplicate key "type" in children["T.v1"]["ns/a"].status.conditions[0]`,
		child(`{"kind":"T","kind":"T"}`):                                                         `duplicate key "kind" in children["T.v1"]["ns/a"]`,
	} {
		_, err := wire.DecodeRegistryWhole([]byte(body))
		var dk *wire.DuplicateKeyError
		require.ErrorAs(t, err, &dk, body)
		require.ErrorContains(t, err, want, "in memory: %s", body)
		for how, r := range readers([]byte(body)) {
			_, err := wire.DecodeRegistryStream(r, 0)
			require.ErrorAs(t, err, &dk, "%s: %s", how, body)
			require.ErrorContains(t, err, want, "%s: %s", how, body)
			var de *wire.DecodeError
			require.ErrorAs(t, err, &de, "a 400")
		}
	}
}

// A failing body read is reported as such (400 or 413), never as a 200.
func TestRegistryStreamReadErrors(t *testing.T) {
	body := steadyRegistryRequest(t, 20)
	boom := errors.New("connection reset")
	_, err := wire.DecodeRegistryStream(io.MultiReader(bytes.NewReader(body[:len(body)/2]), iotest.ErrReader(boom)), 0)
	var re *wire.ReadError
	require.ErrorAs(t, err, &re)
	require.ErrorIs(t, err, boom)

}

// The answer's bytes are Encode's bytes for the same Tenants.
func TestRegistryAnswerEncodesAsEncode(t *testing.T) {
	body := steadyRegistryRequest(t, 300)
	req, err := wire.DecodeRegistryStream(bytes.NewReader(body), 0)
	require.NoError(t, err)
	e := render.New(render.Options{Now: steady.Now})
	templates, err := steady.Templates("multi")
	require.NoError(t, err)
	for _, rows := range []int{300, 100} { // steady, then a mass deletion the guard holds
		in := render.RegistryInput{Registry: req.Parent, Observed: req.Observed, Templates: templates}
		in.Rows = staticRows(t, rows)
		out := e.SyncRegistry(context.Background(), in)
		chunks, err := wire.EncodeRegistryAnswer(out)
		require.NoError(t, err)
		var want bytes.Buffer
		require.NoError(t, wire.Encode(&want, wire.CompositeResponse{Status: out.Status, Children: out.ChildList(), ResyncAfterSeconds: out.ResyncAfter.Seconds()}))
		require.Equal(t, want.String(), string(bytes.Join(chunks, nil)), fmt.Sprintf("%d rows", rows))
		require.Equal(t, rows == 100, out.GuardActivated)
	}
}

// staticRows evaluates rows steady rows as the registry's mapping does.
func staticRows(t testing.TB, n int) datasource.Result {
	t.Helper()
	reg, err := render.ParseRegistry(steady.Registry(steady.Namespace, "customers", "", 0, "", "", "", steadyRows(n)))
	require.NoError(t, err)
	raw, err := datasource.NewStatic(reg.Static.Rows).Rows(context.Background(), reg.Mapping.Columns())
	require.NoError(t, err)
	return datasource.Evaluate(reg.Mapping, raw)
}

func steadyRows(n int) []steady.Row {
	rs := make([]steady.Row, n)
	for i := range rs {
		rs[i] = steady.RowN(i + 1)
	}
	return rs
}

// steadyRegistryRequest is the steady-state registry sync of rows rows × the
// 2 templates of examples/multi-template, as hack/regscale sends it: a MySQL
// registry with every Tenant it wants observed and ready.
func steadyRegistryRequest(t testing.TB, rows int) []byte {
	t.Helper()
	ctx := context.Background()
	templates, err := steady.Templates("multi")
	require.NoError(t, err)
	e := render.New(render.Options{Now: steady.Now})
	srv := hooks.New(hooks.Config{}, slog.New(slog.DiscardHandler), e, mysql.NewPools(mysql.PoolOptions{}), prometheus.NewRegistry())
	hook := steady.HandlerHook(srv.Handler())
	statuses, err := steady.TenantStatusByTemplate(ctx, e, hook, templates)
	require.NoError(t, err)
	// The desired Tenants come from the same rows in a static registry.
	static := steady.Registry(steady.Namespace, "customers", "", 0, "", "", "", steadyRows(rows))
	desired, err := steady.DesiredBySync(hook, static, templates)
	require.NoError(t, err)
	registry := steady.Registry(steady.Namespace, "customers", "127.0.0.1", 3306, "root", "th", "customers", nil)
	return steady.SteadyRegistryRequest(registry, templates, desired, statuses)
}

// FuzzRegistryStream: on any body, the streaming decoder gives what the
// in-memory decoding gives — the same request and summaries, or an error
// for both — however the body is cut, except for the case-folded envelope
// key it rejects on purpose. Both reject a key twice in one object, which
// encoding/json would take: a DuplicateKeyError is only ever the answer to
// a body with one (HasDuplicateKey, the tests' own check on encoding/json's
// tokenizer), and a body with one is never accepted.
func FuzzRegistryStream(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input, which is slow for
	// the captured requests (TestRegistryStreamMatchesWholeDecoding covers
	// them).
	for _, body := range streamEdges {
		if len(body) < 4096 {
			f.Add([]byte(body))
		}
	}
	f.Add([]byte(`{"parent":{"kind":"X"},"children":{"T.v1":{"a":{"metadata":{"name":"a","annotations":{"k":"v"}},"status":{"conditions":[{"type":"Ready","status":"True"}]}}}}}`))
	f.Add([]byte(`{"children":{"T.v1":{"a":{"metadata":{"name":"a","deletionTimestamp":"x","annotations":{"metacontroller.k8s.io/last-applied-configuration":"{}"}}}},"T.v1":null},"parent":{}}`))
	f.Add([]byte(`{"parent":{},"children":{"T.v1":{"a":{"metadata":{"name":"a","labels":{"x":"1","x":"2"}}}}}}`))
	f.Add([]byte(`{"finalizing":true,"finalizing":false,"parent":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErr := wire.DecodeRegistryWhole(b)
		var dk *wire.DuplicateKeyError
		if errors.As(wantErr, &dk) {
			require.True(t, wire.HasDuplicateKey(b, true), "a DuplicateKeyError for a body without a duplicate key: %v", wantErr)
		} else if wantErr == nil {
			require.False(t, wire.HasDuplicateKey(b, true), "a body with a duplicate key was accepted")
		}
		for _, how := range []string{"whole", "one byte"} {
			var r io.Reader = bytes.NewReader(b)
			if how == "one byte" {
				r = iotest.OneByteReader(r)
			}
			got, err := wire.DecodeRegistryStream(r, 0)
			if err != nil {
				var de *wire.DecodeError
				require.ErrorAs(t, err, &de, "%s: %v", how, err)
				if wantErr == nil {
					require.Contains(t, err.Error(), "differs from Metacontroller's only in case", "%s: the stream rejects what Decode accepts", how)
				}
				if errors.As(err, &dk) {
					// The stream checks a skipped envelope member's syntax
					// after the children it has already read, so in a body
					// that is malformed anyway it may name a duplicate that
					// lies past the syntax error (HasDuplicateKey stops
					// there): rejected either way.
					require.True(t, wire.HasDuplicateKey(b, true) || !json.Valid(b), "%s: a DuplicateKeyError for a well-formed body without a duplicate key: %v", how, err)
				}
				continue
			}
			require.NoError(t, wantErr, "%s: the stream accepts what Decode rejects", how)
			requireSameRequest(t, want, got, how)
		}
	})
}

// Many tiny children cost far more memory than their bytes: the summaries
// are held to a budget (the body limit), which real Tenants fit with room.
func TestRegistryStreamBudget(t *testing.T) {
	var tiny bytes.Buffer
	tiny.WriteString(`{"parent":{"kind":"TenantRegistry"},"children":{"Tenant.x/v1":{`)
	for i := range 2000 {
		if i > 0 {
			tiny.WriteByte(',')
		}
		fmt.Fprintf(&tiny, `"%d":{}`, i)
	}
	tiny.WriteString(`}}}`)
	budget := int64(tiny.Len()) // 2000 children in ≈ 20 KB: ≈ 25× that held
	_, err := wire.DecodeRegistryStream(bytes.NewReader(tiny.Bytes()), budget)
	var be *wire.BudgetError
	require.ErrorAs(t, err, &be)
	require.Less(t, be.Children, 200, "stopped as soon as the budget was spent")

	steadyBody := steadyRegistryRequest(t, 1000)
	req, err := wire.DecodeRegistryStream(bytes.NewReader(steadyBody), int64(len(steadyBody))/3)
	require.NoError(t, err, "2,000 real Tenants hold under a third of their bytes")
	require.Len(t, req.Observed, 2000)
}

// BenchmarkRegistryDecode compares the streaming decoder with the in-memory
// one on the steady state of 1,000 rows × 2 templates (9 MB), and reports
// what the streamed summaries hold per Tenant.
func BenchmarkRegistryDecode(b *testing.B) {
	body := steadyRegistryRequest(b, 1000)
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		var held int64
		for b.Loop() {
			_, _, h, err := wire.DecodeRegistryStreamStats(bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			held = h
		}
		b.ReportMetric(float64(held)/2000, "held-B/tenant")
	})
	b.Run("in-memory", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wire.DecodeRegistryWhole(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The registry reads which resources a Tenant's status reports as owned
// (claims stop once all are): the streaming summary reads them as the whole
// decoding does.
func TestRegistryStreamReadsOwnedResources(t *testing.T) {
	b := []byte(`{"controller":{},"parent":{"apiVersion":"operator.kubernetes-tenants.org/v1","kind":"TenantRegistry","metadata":{"name":"r","namespace":"saas"}},
"children":{"Tenant.operator.kubernetes-tenants.org/v1":{"saas/a":{"apiVersion":"operator.kubernetes-tenants.org/v1","kind":"Tenant","metadata":{"name":"a","namespace":"saas"},
"spec":{"uid":"a","claims":[]},"status":{"resources":[{"id":"cfg","kind":"ConfigMap","name":"a-cfg","namespace":"saas","owned":true,"state":"Ready"},
{"id":"app","kind":"Deployment","name":"a-app","namespace":"saas","state":"Waiting","reason":"AwaitingClaim"}],"conditions":[{"type":"Ready","status":"False"}]}}}},"related":{}}`)
	want, err := wire.DecodeRegistryWhole(b)
	require.NoError(t, err)
	require.Len(t, want.Observed, 1)
	require.NotEmpty(t, want.Observed[0].Owned)
	require.Contains(t, want.Observed[0].Owned, "a-cfg")
	require.NotContains(t, want.Observed[0].Owned, "a-app")
	for how, r := range readers(b) {
		got, err := wire.DecodeRegistryStream(r, 0)
		require.NoError(t, err, how)
		requireSameRequest(t, want, got, how)
	}
}
