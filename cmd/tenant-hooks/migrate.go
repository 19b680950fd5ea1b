package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tenant-hooks/tenant-hooks/migrate"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// maxMigrateInput bounds what one input file may hold: a cluster's worth of
// `kubectl get -o json` for a few thousand Tenants fits many times over.
const maxMigrateInput = 1 << 30

// migrateCmd plans the switch-over from Tenant Operator v1.0 (docs/migrating.md).
// It reads `kubectl get … -o json` output and prints a dry run, a patch script
// or its rollback; it never contacts an API server.
func migrateCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dryRun := fs.Bool("dry-run", false, "list every object and what will happen to it, and the problems; print no script")
	rollback := fs.Bool("rollback", false, "plan the way back to v1.0 from the objects as they are now")
	output := fs.String("o", "script", "output: script (bash, kubectl patch) or json (the plan with its JSON patches)")
	var childTypes stringList
	fs.Var(&childTypes, "child-type", "an extra child type of the Tenant controller, as Kind.apiVersion (e.g. Role.rbac.authorization.k8s.io/v1); repeatable")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: tenant-hooks migrate [--dry-run] [--rollback] [-o script|json] FILE...

Reads the objects of a Tenant Operator v1.0 installation as "kubectl get ... -o json"
prints them (FILE "-" is stdin) and prints the kubectl patches that hand them to
tenant-hooks under Metacontroller without deleting, re-creating or rolling out
anything. Refuses (exit 1, problems on stderr) when anything would be lost.
See docs/migrating.md.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 || (*output != "script" && *output != "json") {
		fs.Usage()
		return 2
	}
	var objs []object.Obj
	for _, f := range fs.Args() {
		var b []byte
		var err error
		if f == "-" {
			b, err = io.ReadAll(io.LimitReader(os.Stdin, maxMigrateInput+1))
		} else {
			var fh *os.File
			if fh, err = os.Open(f); err == nil {
				b, err = io.ReadAll(io.LimitReader(fh, maxMigrateInput+1))
				fh.Close()
			}
		}
		if err == nil && len(b) > maxMigrateInput {
			err = fmt.Errorf("larger than %d bytes", maxMigrateInput)
		}
		if err != nil {
			fmt.Fprintf(stderr, "tenant-hooks migrate: %s: %v\n", f, err)
			return 2
		}
		got, err := migrate.Decode(b)
		if err != nil {
			fmt.Fprintf(stderr, "tenant-hooks migrate: %s: %v\n", f, err)
			return 2
		}
		objs = append(objs, got...)
	}
	var plan *migrate.Plan
	header := "tenant-hooks migrate " + version
	if *rollback {
		plan = migrate.Rollback(objs)
		header += " --rollback: back to Tenant Operator v1.0 (docs/migrating.md, \"Rolling back\")"
	} else {
		opts := migrate.Options{}
		if len(childTypes) > 0 {
			opts.ChildTypes = map[string]bool{}
			for k := range migrate.DefaultChildTypes {
				opts.ChildTypes[k] = true
			}
			for _, t := range childTypes {
				opts.ChildTypes[t] = true
			}
		}
		plan = migrate.Build(context.Background(), objs, opts)
		header += ": Tenant Operator v1.0 -> tenant-hooks (docs/migrating.md)"
	}
	var err error
	switch {
	case *dryRun:
		err = plan.WriteTable(stdout)
	case *output == "json":
		err = plan.WriteJSON(stdout)
	default:
		err = plan.WriteScript(stdout, fmt.Sprintf("%s\n%d objects read, %d patched", header, len(plan.Items), plan.Patches()))
	}
	if err != nil {
		fmt.Fprintln(stderr, "tenant-hooks migrate:", err)
	}
	if len(plan.Problems) > 0 {
		if !*dryRun {
			for _, p := range plan.Problems {
				fmt.Fprintln(stderr, "tenant-hooks migrate: problem:", p)
			}
		}
		return 1
	}
	if err != nil {
		return 1
	}
	return 0
}
