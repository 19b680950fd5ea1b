package tmpl

// ToHost is the toHost template function, for the render core's .host
// variable: one implementation, so the variable and the function agree.
func ToHost(s string) string { return toHost(s) }
