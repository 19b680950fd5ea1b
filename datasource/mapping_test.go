package datasource

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMappingValidate(t *testing.T) {
	t.Parallel()
	ok := []Mapping{
		{UID: "uid", Activate: "active"},
		{UID: "uid", HostOrURL: "url", Activate: "uid"}, // a column may feed two variables
		{UID: "tenant_id", HostOrURL: "$host", Activate: "is_active", Extra: map[string]string{
			"planName": "plan", "_x": "plan", "Region2": "region", "dbHost": "db_host",
		}},
	}
	for _, m := range ok {
		require.NoError(t, m.Validate(), "%+v", m)
	}
	bad := []struct {
		m    Mapping
		want []string
	}{
		{Mapping{}, []string{"valueMappings.uid: column name is required", "valueMappings.activate: column name is required"}},
		{Mapping{UID: "uid"}, []string{"valueMappings.activate"}},
		{Mapping{UID: "uid`; --", Activate: "a"}, []string{"valueMappings.uid", "\"uid`; --\""}},
		{Mapping{UID: "u", HostOrURL: "host name", Activate: "a"}, []string{"valueMappings.hostOrUrl", `"host name"`}},
		{Mapping{UID: "u", Activate: "a.b"}, []string{"valueMappings.activate", `"a.b"`}},
		{Mapping{UID: "u", Activate: "a", Extra: map[string]string{"plan-name": "plan"}}, []string{`extraValueMappings["plan-name"]`, "[A-Za-z_][A-Za-z0-9_]*"}},
		{Mapping{UID: "u", Activate: "a", Extra: map[string]string{"1plan": "plan"}}, []string{`extraValueMappings["1plan"]`}},
		{Mapping{UID: "u", Activate: "a", Extra: map[string]string{"": "plan"}}, []string{`extraValueMappings[""]`}},
		{Mapping{UID: "u", Activate: "a", Extra: map[string]string{"plän": "plan"}}, []string{`extraValueMappings["plän"]`}},
		{Mapping{UID: "u", Activate: "a", Extra: map[string]string{"plan": ""}}, []string{`extraValueMappings["plan"]: column name is required`}},
		{Mapping{UID: "u", Activate: "a", Extra: map[string]string{"plan": "x y"}}, []string{`extraValueMappings["plan"]`, `"x y"`}},
		{Mapping{UID: "u", Activate: "a", Extra: map[string]string{"uid": "h"}}, []string{`extraValueMappings["uid"]`, "reserved"}},
		{Mapping{UID: "u", Activate: "a", Extra: map[string]string{"hostOrUrl": "h"}}, []string{"reserved"}},
		{Mapping{UID: "u", Activate: "a", Extra: map[string]string{"activate": "h"}}, []string{"reserved"}},
	}
	for _, c := range bad {
		err := c.m.Validate()
		require.Error(t, err, "%+v", c.m)
		for _, w := range c.want {
			require.Contains(t, err.Error(), w)
		}
	}
}

// An extra mapping may take the name of a variable the renderer adds: it
// takes precedence (docs/templates.md), as an extra host did in v1.0.
func TestMappingExtraMayShadowRendererVariables(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"host", "registryId", "templateRef", "tenant", "namespace"} {
		require.NoError(t, Mapping{UID: "u", Activate: "a", Extra: map[string]string{v: "c"}}.Validate(), v)
	}
}

func TestMappingColumns(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"active", "uid"}, Mapping{UID: "uid", Activate: "active"}.Columns())
	require.Equal(t, []string{"a", "plan", "uid", "url"}, Mapping{
		UID: "uid", HostOrURL: "url", Activate: "a",
		Extra: map[string]string{"p1": "plan", "p2": "plan", "u": "uid"},
	}.Columns())
	require.Equal(t, []string{"uid"}, Mapping{UID: "uid", Activate: "uid"}.Columns())
}
