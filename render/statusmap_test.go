package render

import (
	"encoding/json"
	"reflect"
	"testing"
)

// asMap must equal the JSON round trip it replaced, field for field.
func TestResourceStatusAsMap(t *testing.T) {
	for _, r := range []ResourceStatus{
		{},
		{ID: "a", State: StateReady},
		{ID: "a", Kind: "Secret", Name: "s", State: StateReady, Owned: true},
		{ID: "a", Kind: "ConfigMap", Name: "n", Namespace: "ns", State: StateWaiting, Reason: "R", Message: "m <&> \xff\xfe \u2028 \xc3", WaitingSince: "2026-01-01T00:00:00Z"},
	} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got := r.asMap()
		gb, _ := json.Marshal(got)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("asMap(%+v) = %s, want %s", r, gb, b)
		}
		// Encoded, both are the same bytes.
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) {
			t.Errorf("asMap(%+v) encodes to %s, want %s", r, gb, wb)
		}
	}
}
