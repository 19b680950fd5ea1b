package datasource

// Truthy reports whether an activate cell makes its row active. The rule is
// upstream Tenant Operator's: the cell must be exactly one of
//
//	1  true  TRUE  True  yes  YES  Yes
//
// Case-sensitive, no trimming: " 1", "on", "Y", "t", "2", "tRUE" and NULL are
// inactive. TINYINT(1)/BOOLEAN columns arrive as "1"/"0"; YAML or JSON true in
// a static row arrives as "true".
func Truthy(v Value) bool {
	if !v.Valid {
		return false
	}
	switch v.S {
	case "1", "true", "TRUE", "True", "yes", "YES", "Yes":
		return true
	}
	return false
}
