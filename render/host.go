package render

import "github.com/tenant-hooks/tenant-hooks/render/tmpl"

func hostOf(s string) string { return tmpl.ToHost(s) }
