package datasource

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
)

// Mapping says which columns feed which template variables (from
// TenantRegistry spec.valueMappings + spec.extraValueMappings).
type Mapping struct {
	UID       string            // column holding the tenant uid (required)
	HostOrURL string            // column feeding .hostOrUrl and .host (optional)
	Activate  string            // column holding the activation flag (required)
	Extra     map[string]string // template variable -> column
}

// Template variable names that Evaluate fills in from the mapped columns
// themselves; an extra mapping may not shadow them (v1.0 let it, so that
// .uid in a template could differ from the uid that named the Tenant).
//
// The variables the renderer adds (host, registryId, templateRef, tenant,
// namespace) are not reserved: an extra mapping of that name takes
// precedence, as it did in v1.0, which had no such built-ins apart from
// host and let an extra host replace toHost(hostOrUrl).
var reservedVariables = map[string]bool{
	"uid":       true,
	"hostOrUrl": true,
	"activate":  true,
}

// Validate checks that the uid and activate columns are set, that every
// column name is a valid identifier (see ValidateColumn) and that every extra
// variable name is a Go template identifier ([A-Za-z_][A-Za-z0-9_]*) that does
// not shadow a built-in variable. All problems are reported, joined.
func (m Mapping) Validate() error {
	var errs []error
	check := func(field, col string, required bool) {
		if col == "" {
			if required {
				errs = append(errs, fmt.Errorf("%s: column name is required", field))
			}
			return
		}
		if err := ValidateColumn(col); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	check("valueMappings.uid", m.UID, true)
	check("valueMappings.hostOrUrl", m.HostOrURL, false)
	check("valueMappings.activate", m.Activate, true)
	for _, v := range ordered.Keys(m.Extra) {
		field := fmt.Sprintf("extraValueMappings[%q]", v)
		switch {
		case !validTemplateIdentifier(v):
			errs = append(errs, fmt.Errorf("%s: variable name must match [A-Za-z_][A-Za-z0-9_]*", field))
		case reservedVariables[v]:
			errs = append(errs, fmt.Errorf("%s: variable name is reserved (uid, hostOrUrl and activate come from valueMappings)", field))
		}
		check(field, m.Extra[v], true)
	}
	return errors.Join(errs...)
}

// Columns returns the sorted, de-duplicated list of columns to select.
func (m Mapping) Columns() []string {
	cols := make([]string, 0, 3+len(m.Extra))
	for _, c := range []string{m.UID, m.HostOrURL, m.Activate} {
		if c != "" {
			cols = append(cols, c)
		}
	}
	for _, c := range m.Extra {
		if c != "" {
			cols = append(cols, c)
		}
	}
	slices.Sort(cols)
	return slices.Compact(cols)
}

// validTemplateIdentifier reports whether s can be used as .name in a Go
// template: [A-Za-z_][A-Za-z0-9_]* (ASCII only).
func validTemplateIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
