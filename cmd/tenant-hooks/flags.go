package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// envDefaults lets every flag fall back to TENANT_HOOKS_<FLAG> (dashes become
// underscores), so a Deployment can configure the service through env. An
// explicit flag wins over the environment.
func envDefaults(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "TENANT_HOOKS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", env, v, e)
			}
		}
	})
	return err
}
