// Command tenant-hooks answers Metacontroller hooks that turn database rows
// into per-tenant Kubernetes stacks, and renders or lints templates offline.
//
//	tenant-hooks serve     run the HTTP hook service
//	tenant-hooks render    render a TenantTemplate for rows, as the sync hook would
//	tenant-hooks lint      check registries and templates offline
//	tenant-hooks migrate   plan the switch-over from Tenant Operator v1.0
//	tenant-hooks version   print the version
package main

import (
	"fmt"
	"io"
	"os"
)

// version is stamped at build time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "render":
		return renderCmd(args[1:], stdout, stderr)
	case "lint":
		return lintCmd(args[1:], stdout, stderr)
	case "migrate":
		return migrateCmd(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "tenant-hooks: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: tenant-hooks <command> [flags]

commands:
  serve     run the HTTP service that answers Metacontroller's hooks
  render    render a TenantTemplate for one or more rows and print the children as YAML
  lint      check TenantRegistry and TenantTemplate files offline
  migrate   plan the switch-over from Tenant Operator v1.0 (kubectl patches, dry run, rollback)
  version   print the version

Run "tenant-hooks <command> -h" for the flags of a command. Every serve flag
can also be set through the environment: --log-level ⇒ TENANT_HOOKS_LOG_LEVEL.
`)
}
