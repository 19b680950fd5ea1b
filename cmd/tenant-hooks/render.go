package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// renderCmd renders templates for rows through the same code the hooks run:
// rows → registry sync (Tenants) → tenant sync, repeated against an in-memory
// cluster until the answer settles, so every resource behind a dependency is
// shown too.
func renderCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files, sets stringList
	fs.Var(&files, "f", "YAML or JSON file with TenantTemplate(s) and optionally a TenantRegistry (repeatable)")
	rowsFile := fs.String("rows", "", "YAML or JSON list of rows (objects keyed by column name)")
	fs.Var(&sets, "set", "one row as key=value pairs (repeatable); activate defaults to true")
	namespace := fs.String("namespace", "default", "namespace of the registry, templates and Tenants")
	output := fs.String("o", "yaml", "output format: yaml or json")
	firstRound := fs.Bool("first-round", false, "print only the first sync answer (what a new Tenant gets before anything is observed)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: tenant-hooks render -f template.yaml [-f registry.yaml] [--rows rows.yaml | --set uid=acme --set planId=pro]

Renders every TenantTemplate for every active row and prints the children the
sync hook would return once all dependencies are ready.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(files) == 0 {
		fs.Usage()
		return 2
	}
	var docs []object.Obj
	for _, f := range files {
		d, err := readDocs(f)
		if err != nil {
			fmt.Fprintln(stderr, "tenant-hooks render:", err)
			return 1
		}
		docs = append(docs, d...)
	}
	var rows []map[string]any
	switch {
	case *rowsFile != "":
		b, err := os.ReadFile(*rowsFile)
		if err != nil {
			fmt.Fprintln(stderr, "tenant-hooks render:", err)
			return 1
		}
		if rows, err = datasource.ParseStaticRows(b); err != nil {
			fmt.Fprintf(stderr, "tenant-hooks render: %s: %v\n", *rowsFile, err)
			return 1
		}
	case len(sets) > 0:
		row := map[string]any{"activate": "true"}
		for _, kv := range sets {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				fmt.Fprintf(stderr, "tenant-hooks render: --set %q: want key=value\n", kv)
				return 2
			}
			row[k] = v
		}
		rows = []map[string]any{row}
	}
	res, err := Render(context.Background(), docs, rows, *namespace, *firstRound)
	if err != nil {
		fmt.Fprintln(stderr, "tenant-hooks render:", err)
		return 1
	}
	for _, p := range res.Problems {
		fmt.Fprintln(stderr, p)
	}
	if err := printObjects(stdout, res.Children, *output); err != nil {
		fmt.Fprintln(stderr, "tenant-hooks render:", err)
		return 1
	}
	if len(res.Problems) > 0 {
		return 1
	}
	return 0
}

// RenderResult is what Render produces.
type RenderResult struct {
	Tenants  []object.Obj
	Children []object.Obj
	// Problems are resources that did not become Ready, one line each.
	Problems []string
}

// cliNow pins the clock so the CLI's output is reproducible.
var cliNow = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// Render runs documents and rows through the registry and tenant sync. When
// rows are given they replace the registry's source; without a registry one
// is synthesised whose mappings are the rows' own column names.
func Render(ctx context.Context, docs []object.Obj, rows []map[string]any, namespace string, firstRound bool) (*RenderResult, error) {
	var registry object.Obj
	var templates []object.Obj
	for _, d := range docs {
		switch object.Kind(d) {
		case "TenantRegistry", "ClusterTenantRegistry":
			if registry != nil {
				return nil, fmt.Errorf("more than one registry given")
			}
			registry = object.DeepCopyMap(d)
		case "TenantTemplate":
			t := object.DeepCopyMap(d)
			if object.Namespace(t) == "" {
				object.SetNested(t, namespace, "metadata", "namespace")
			}
			templates = append(templates, t)
		}
	}
	if len(templates) == 0 {
		return nil, fmt.Errorf("no TenantTemplate in the given files")
	}
	if registry == nil {
		ns := object.Namespace(templates[0])
		if ns == "" {
			ns = namespace
		}
		registry = syntheticRegistry(templates[0], rows, ns)
	}
	if object.Namespace(registry) == "" && object.Kind(registry) == "TenantRegistry" {
		object.SetNested(registry, namespace, "metadata", "namespace")
	}
	if rows != nil {
		src := object.NestedMap(registry, "spec", "source")
		if src == nil {
			src = map[string]any{}
			object.SetNested(registry, src, "spec", "source")
		}
		src["type"] = "static"
		delete(src, "mysql")
		anyRows := make([]any, len(rows))
		for i, r := range rows {
			anyRows[i] = r
		}
		src["static"] = map[string]any{"rows": anyRows}
	}
	reg, err := render.ParseRegistry(registry)
	if err != nil {
		return nil, err
	}
	if reg.SourceType != "static" || reg.Static.ConfigMap != nil {
		return nil, fmt.Errorf("registry %s reads %s rows; pass them with --rows or --set", reg.Name, reg.SourceType)
	}
	raw, err := datasource.NewStatic(reg.Static.Rows).Rows(ctx, reg.Mapping.Columns())
	if err != nil {
		return nil, err
	}
	engine := render.New(render.Options{Templates: tmpl.Options{}, Now: cliNow})
	rout := engine.SyncRegistry(ctx, render.RegistryInput{Registry: registry, Parsed: reg, Templates: templates, Rows: datasource.Evaluate(reg.Mapping, raw)})
	res := &RenderResult{Tenants: rout.ChildList()}
	if len(res.Tenants) == 0 {
		for _, c := range object.NestedSlice(rout.Status, "conditions") {
			if m, _ := c.(map[string]any); m["type"] == "Ready" {
				res.Problems = append(res.Problems, fmt.Sprintf("registry %s produced no Tenants: %s", object.Name(registry), object.String(m, "message")))
			}
		}
	}
	byName := map[string]object.Obj{}
	for _, t := range templates {
		byName[object.Name(t)] = t
	}
	for i, tenant := range res.Tenants {
		tenant = object.DeepCopyMap(tenant)
		uid := fmt.Sprintf("00000000-0000-0000-0000-%012d", i+1)
		object.SetNested(tenant, uid, "metadata", "uid")
		in := render.TenantInput{
			Tenant:    tenant,
			Template:  byName[object.String(tenant, "spec", "templateRef")],
			Namespace: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": object.Namespace(tenant), "uid": "00000000-0000-0000-0000-namespace000"}},
		}
		if object.Namespace(tenant) == "" {
			in.Scope = render.Cluster
			in.Namespace = nil
		}
		rounds := 50
		if firstRound {
			rounds = 1
		}
		history, err := sim.Converge(ctx, engine, in, sim.New(uid), rounds)
		if err != nil && !firstRound {
			return nil, fmt.Errorf("tenant %s: %w", object.Name(tenant), err)
		}
		last := history[len(history)-1]
		res.Children = append(res.Children, last.Children...)
		for _, r := range object.NestedSlice(last.Status, "resources") {
			m, _ := r.(map[string]any)
			if s := object.String(m, "state"); s != render.StateReady && !firstRound {
				res.Problems = append(res.Problems, fmt.Sprintf("tenant %s: resource %s is %s: %s %s",
					object.Name(tenant), object.String(m, "id"), s, object.String(m, "reason"), object.String(m, "message")))
			}
		}
		for _, c := range object.NestedSlice(last.Status, "conditions") {
			m, _ := c.(map[string]any)
			if m["type"] == "Degraded" && m["status"] == "True" && len(object.NestedSlice(last.Status, "resources")) == 0 {
				res.Problems = append(res.Problems, fmt.Sprintf("tenant %s: %s", object.Name(tenant), object.String(m, "message")))
			}
		}
	}
	for _, c := range object.NestedSlice(rout.Status, "conditions") {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" && m["reason"] == "InvalidSpec" {
			return nil, fmt.Errorf("%s", object.String(m, "message"))
		}
	}
	return res, nil
}

func syntheticRegistry(tpl object.Obj, rows []map[string]any, namespace string) object.Obj {
	cols := map[string]bool{}
	for _, r := range rows {
		for k := range r {
			cols[k] = true
		}
	}
	extra := map[string]any{}
	for k := range cols {
		switch k {
		case "uid", "hostOrUrl", "activate":
		default:
			extra[k] = k
		}
	}
	vm := map[string]any{"uid": "uid", "activate": "activate"}
	if cols["hostOrUrl"] {
		vm["hostOrUrl"] = "hostOrUrl"
	}
	return map[string]any{
		"apiVersion": render.APIVersion, "kind": "TenantRegistry",
		"metadata": map[string]any{"name": object.String(tpl, "spec", "registryId"), "namespace": namespace},
		"spec":     map[string]any{"source": map[string]any{"type": "static"}, "valueMappings": vm, "extraValueMappings": extra},
	}
}

func readDocs(path string) ([]object.Obj, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return splitDocs(path, b)
}

// splitDocs reads a multi-document YAML (or a JSON) file into objects, with
// numbers kept exact.
func splitDocs(path string, b []byte) ([]object.Obj, error) {
	var out []object.Obj
	for i, part := range splitYAML(string(b)) {
		if strings.TrimSpace(stripComments(part)) == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(part))
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %v", path, i+1, err)
		}
		var o object.Obj
		if err := decodeJSON(j, &o); err != nil {
			return nil, fmt.Errorf("%s: document %d: %v", path, i+1, err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
	return out, nil
}

func splitYAML(s string) []string {
	var parts []string
	var cur []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "---") && strings.TrimSpace(strings.TrimPrefix(line, "---")) == "" {
			parts = append(parts, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return append(parts, strings.Join(cur, "\n"))
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func printObjects(w io.Writer, objs []object.Obj, format string) error {
	sorted := append([]object.Obj(nil), objs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		ka := object.TypeKey(object.APIVersion(a), object.Kind(a)) + "|" + object.ObjKey(object.Namespace(a), object.Name(a))
		kb := object.TypeKey(object.APIVersion(b), object.Kind(b)) + "|" + object.ObjKey(object.Namespace(b), object.Name(b))
		return ka < kb
	})
	switch format {
	case "json":
		return encodeJSON(w, sorted)
	case "yaml":
		for i, o := range sorted {
			j, err := object.Marshal(o)
			if err != nil {
				return err
			}
			y, err := yaml.JSONToYAML(j)
			if err != nil {
				return err
			}
			if i > 0 {
				fmt.Fprintln(w, "---")
			}
			if _, err := w.Write(y); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("-o %q: use yaml or json", format)
}
