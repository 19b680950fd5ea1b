package migrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Decode reads the objects of one `kubectl get -o json` output: a List (its
// items), a single object, a JSON array of objects, or several such JSON
// documents one after another.
func Decode(data []byte) ([]object.Obj, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []object.Obj
	for n := 1; ; n++ {
		var raw any
		if err := dec.Decode(&raw); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if arr, ok := raw.([]any); ok {
			// A bare JSON array of objects (as jq -s or a hand-made file has it).
			raw = map[string]any{"apiVersion": "v1", "kind": "List", "items": arr}
		}
		doc, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("document %d: not a JSON object or array", n)
		}
		if items, ok := doc["items"].([]any); ok && strings.HasSuffix(object.Kind(doc), "List") {
			for i, it := range items {
				m, ok := it.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("document %d: item %d is not an object", n, i)
				}
				out = append(out, m)
			}
			continue
		}
		if object.Kind(doc) == "" || object.APIVersion(doc) == "" {
			return nil, fmt.Errorf("document %d: not a Kubernetes object or List (no apiVersion/kind)", n)
		}
		out = append(out, doc)
	}
}

// WriteTable writes the dry run: one line per object and what happens to it,
// then the problems.
func (p *Plan) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tKIND\tNAMESPACE/NAME\tWHAT HAPPENS")
	for _, it := range p.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Action, it.Kind, object.ObjKey(it.Namespace, it.Name), it.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	counts := map[string]int{}
	for _, it := range p.Items {
		counts[it.Action]++
	}
	var parts []string
	for _, a := range []string{ActionMigrate, ActionAdopt, ActionUnchanged, ActionCreate, ActionUntouched, ActionBlocked} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	fmt.Fprintf(w, "\n%d objects: %s; %d patches; nothing is deleted or re-created.\n", len(p.Items), strings.Join(parts, ", "), p.Patches())
	if len(p.Problems) > 0 {
		fmt.Fprintf(w, "\nREFUSED: %d problems (nothing would be safe to apply until they are fixed):\n", len(p.Problems))
		for _, pr := range p.Problems {
			fmt.Fprintf(w, "  - %s\n", pr)
		}
	}
	return nil
}

// WriteScript writes the patches as a bash script of `kubectl patch` commands
// (children first, then Tenants, then registries). It refuses a plan with
// problems.
func (p *Plan) WriteScript(w io.Writer, header string) error {
	if len(p.Problems) > 0 {
		return fmt.Errorf("refused: %d problems (run with --dry-run to see them)", len(p.Problems))
	}
	return writeScript(w, header, p.Items)
}

// WriteJSON writes the plan as JSON (items with their patches, problems).
func (p *Plan) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
