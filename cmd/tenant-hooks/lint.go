package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// lintCmd checks registries and templates offline — what admission webhooks
// did upstream, for a person at a terminal or a CI job.
func lintCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rowFile := fs.String("row", "", "sample row (YAML/JSON object or list) to render templates with; default: one synthesised from the registry's mappings")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: tenant-hooks lint [--row row.yaml] FILE|DIR...\n\nChecks every TenantRegistry and TenantTemplate found; prints file:line: message and exits 1 on any problem.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var sample map[string]any
	if *rowFile != "" {
		b, err := os.ReadFile(*rowFile)
		if err != nil {
			fmt.Fprintln(stderr, "tenant-hooks lint:", err)
			return 2
		}
		rows, err := datasource.ParseStaticRows(b)
		if err != nil {
			var one map[string]any
			docs, derr := splitDocs(*rowFile, b)
			if derr != nil || len(docs) != 1 {
				fmt.Fprintf(stderr, "tenant-hooks lint: %s: %v\n", *rowFile, err)
				return 2
			}
			one = docs[0]
			rows = []map[string]any{one}
		}
		if len(rows) > 0 {
			sample = rows[0]
		}
	}
	var files []string
	for _, a := range fs.Args() {
		found, err := yamlFiles(a)
		if err != nil {
			fmt.Fprintln(stderr, "tenant-hooks lint:", err)
			return 2
		}
		files = append(files, found...)
	}
	problems, checked := Lint(files, sample)
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	fmt.Fprintf(stderr, "tenant-hooks lint: %d documents checked, %d problems\n", checked, len(problems))
	if len(problems) > 0 {
		return 1
	}
	return 0
}

func yamlFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := filepath.Ext(p)
		if !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// lintDoc is one YAML document of one of our kinds.
type lintDoc struct {
	file string
	node *yamlv3.Node
	obj  object.Obj
}

// Lint checks files and returns "file:line: message" lines and the number of
// documents of our kinds it checked.
func Lint(files []string, sample map[string]any) ([]string, int) {
	var problems []string
	report := func(file string, line int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: %s", file, line, fmt.Sprintf(format, args...)))
	}
	var registries, templates []lintDoc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			report(f, 0, "%v", err)
			continue
		}
		dec := yamlv3.NewDecoder(strings.NewReader(string(b)))
		for {
			var n yamlv3.Node
			if err := dec.Decode(&n); err != nil {
				if err != io.EOF {
					report(f, 0, "YAML: %v", err)
				}
				break
			}
			if len(n.Content) == 0 {
				continue
			}
			root := n.Content[0]
			var o object.Obj
			if err := root.Decode(&o); err != nil || o == nil {
				continue
			}
			o = normalizeYAML(o).(map[string]any)
			// TenantRegistry and TenantTemplate are namespaced kinds: a
			// document without metadata.namespace (most of v1.0's docs) is
			// applied to kubectl's current namespace, never cluster-wide.
			// Only ClusterTenantRegistry is cluster-scoped.
			if k := object.Kind(o); (k == "TenantRegistry" || k == "TenantTemplate") && object.Namespace(o) == "" {
				object.SetNested(o, "default", "metadata", "namespace")
			}
			switch object.Kind(o) {
			case "TenantRegistry", "ClusterTenantRegistry":
				registries = append(registries, lintDoc{f, root, o})
			case "TenantTemplate":
				templates = append(templates, lintDoc{f, root, o})
			}
		}
	}
	engine := tmpl.New(tmpl.Options{})
	regByName := map[string]lintDoc{}
	for _, d := range registries {
		// A template finds its registry by name among the registries that
		// read templates from its namespace.
		tplNS := object.Namespace(d.obj)
		if tplNS == "" {
			tplNS = object.String(d.obj, "spec", "templateNamespace")
		}
		regByName[tplNS+"/"+object.Name(d.obj)] = d
		checkFields(d.node, registrySchema, "", func(line int, msg string) { report(d.file, line, "%s", msg) })
		if _, err := render.ParseRegistry(d.obj); err != nil {
			for _, p := range err.(*render.SpecError).Problems {
				report(d.file, d.node.Line, "registry %s: %s", object.Name(d.obj), p)
			}
		}
		if _, err := render.ParseSharding(d.obj); err != nil {
			for _, p := range err.(*render.SpecError).Problems {
				report(d.file, d.node.Line, "registry %s: %s", object.Name(d.obj), p)
			}
		}
	}
	for _, d := range templates {
		name := object.Name(d.obj)
		checkFields(d.node, templateSchema, "", func(line int, msg string) { report(d.file, line, "%s", msg) })
		if _, err := render.ParseTemplate(d.obj); err != nil {
			if te, ok := err.(*render.TemplateError); ok {
				for _, p := range te.Problems {
					report(d.file, d.node.Line, "template %s: %s", name, p)
				}
			} else {
				report(d.file, d.node.Line, "template %s: %v", name, err)
			}
			continue
		}
		walkStrings(d.node, func(n *yamlv3.Node) {
			if strings.Contains(n.Value, "{{") {
				if err := engine.Check(n.Value); err != nil {
					report(d.file, n.Line, "template %s: %v", name, err)
				}
			}
		})
		// Render for a sample row through the real pipeline: this finds
		// missing variables, bad names and typed values.
		row := sample
		reg, hasReg := regByName[object.Namespace(d.obj)+"/"+object.String(d.obj, "spec", "registryId")]
		if row == nil {
			row = sampleRow(reg.obj, hasReg)
		}
		docs := []object.Obj{d.obj}
		if hasReg {
			docs = append(docs, reg.obj)
		}
		ns := object.Namespace(d.obj)
		if ns == "" {
			ns = "default"
		}
		res, err := Render(context.Background(), docs, []map[string]any{row}, ns, false)
		if err != nil {
			report(d.file, d.node.Line, "template %s: %v", name, err)
			continue
		}
		for _, p := range res.Problems {
			report(d.file, resourceLine(d.node, p), "template %s with sample row: %s", name, p)
		}
	}
	return problems, len(registries) + len(templates)
}

// sampleRow builds a row with every mapped column, so that a template that
// uses a variable its registry does not provide fails here and not in the
// cluster.
func sampleRow(reg object.Obj, ok bool) map[string]any {
	row := map[string]any{"uid": "sample", "hostOrUrl": "https://sample.example.com", "activate": "true"}
	if !ok {
		return row
	}
	vm := object.NestedMap(reg, "spec", "valueMappings")
	out := map[string]any{}
	set := func(col, v string) {
		if col != "" {
			out[col] = v
		}
	}
	set(object.String(vm, "uid"), "sample")
	set(object.String(vm, "hostOrUrl"), "https://sample.example.com")
	set(object.String(vm, "activate"), "true")
	for _, col := range object.NestedMap(reg, "spec", "extraValueMappings") {
		if s, ok := col.(string); ok {
			set(s, "1")
		}
	}
	return out
}

func resourceLine(doc *yamlv3.Node, problem string) int {
	line := doc.Line
	walkStrings(doc, func(n *yamlv3.Node) {
		if strings.Contains(problem, fmt.Sprintf("resource %s is", n.Value)) && line == doc.Line {
			line = n.Line
		}
	})
	return line
}

func walkStrings(n *yamlv3.Node, fn func(*yamlv3.Node)) {
	switch n.Kind {
	case yamlv3.ScalarNode:
		if n.Tag == "!!str" {
			fn(n)
		}
	case yamlv3.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			walkStrings(n.Content[i], fn)
		}
	default:
		for _, c := range n.Content {
			walkStrings(c, fn)
		}
	}
}

// schema is a tree of known field names; "*" accepts any key whose value is
// checked against the child schema; a nil schema accepts anything below.
type schema map[string]schema

var tresourceSchema = schema{
	"id": nil, "spec": nil, "nameTemplate": nil, "labelsTemplate": nil, "annotationsTemplate": nil,
	"dependIds": nil, "creationPolicy": nil, "deletionPolicy": nil, "conflictPolicy": nil,
	"patchStrategy": nil, "waitForReady": nil, "timeoutSeconds": nil, "targetNamespace": nil,
}

var templateSchema = func() schema {
	spec := schema{"registryId": nil, "deletionGuard": schema{"maxDeletePercent": nil}}
	for _, l := range render.ResourceLists {
		spec[l] = schema{"[]": tresourceSchema}
	}
	spec["namespaceDefaults"] = schema{"[]": tresourceSchema}
	return schema{"apiVersion": nil, "kind": nil, "metadata": nil, "spec": spec, "status": nil}
}()

var registrySchema = schema{
	"apiVersion": nil, "kind": nil, "metadata": nil, "status": nil,
	"spec": schema{
		"templateNamespace": nil,
		"source": schema{
			"type": nil, "syncInterval": nil,
			"mysql": schema{"host": nil, "port": nil, "username": nil, "database": nil, "table": nil, "tls": nil,
				"queryTimeoutSeconds": nil, "valueFormat": nil, "passwordRef": schema{"name": nil, "key": nil, "namespace": nil}},
			"static": schema{"rows": nil, "configMapRef": schema{"name": nil, "key": nil, "namespace": nil}},
		},
		"valueMappings":      schema{"uid": nil, "hostOrUrl": nil, "activate": nil},
		"extraValueMappings": nil,
		"deletionGuard":      schema{"maxDeletePercent": nil},
		"sharding":           schema{"shards": nil, "maxTenantsPerShard": nil},
	},
}

func checkFields(n *yamlv3.Node, s schema, path string, report func(int, string)) {
	if s == nil {
		return
	}
	if item, ok := s["[]"]; ok {
		if n.Kind != yamlv3.SequenceNode {
			report(n.Line, fmt.Sprintf("%s must be a list", path))
			return
		}
		for i, c := range n.Content {
			checkFields(c, item, fmt.Sprintf("%s[%d]", path, i), report)
		}
		return
	}
	if n.Kind != yamlv3.MappingNode {
		report(n.Line, fmt.Sprintf("%s must be an object", strings.TrimPrefix(path, ".")))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		child, known := s[k.Value]
		p := path + "." + k.Value
		if !known {
			report(k.Line, fmt.Sprintf("unknown field %s (known: %s)", strings.TrimPrefix(p, "."), strings.Join(keysOf(s), ", ")))
			continue
		}
		checkFields(v, child, p, report)
	}
}

func keysOf(s schema) []string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// normalizeYAML turns yaml.v3's decoded values into the JSON shapes the
// render core expects (map[string]any, []any, json-like numbers).
func normalizeYAML(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeYAML(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = normalizeYAML(e)
		}
		return t
	case int:
		return int64(t)
	}
	return v
}
