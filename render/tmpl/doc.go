// Package tmpl renders the string leaves of TenantTemplates.
//
// Every string value in a TenantTemplate (names, labels, annotations and each
// string leaf of a resource spec) is its own Go text/template, executed once
// per database row with a flat map of variables (.uid, .host, .hostOrUrl,
// .activate, the extra mappings, ...; the caller builds the map). The
// function library is Sprig v3.3.0 with these changes (funcs.go has the full
// list and the reason for each):
//
//   - removed: env, expandenv (the service's environment) and getHostByName
//     (network). They fail with an explanation instead of "not defined".
//   - refused: every function that reads the clock or randomness (now, ago,
//     rand*, uuidv4, shuffle, the key and certificate generators, bcrypt,
//     htpasswd, encryptAES). Their output would change on every resync and
//     make the controller rewrite the cluster each time. They are reported
//     statically, by Check and by Render, even in a branch that does not run.
//   - added: toHost, trunc63, sha1sum and fromJson (from Tenant Operator v1.0,
//     with fixes) and the typed markers asInt, asBool, asFloat and asJson.
//   - bounded: every function whose result can outgrow its input, and the
//     builtins print, printf, println, html, js and urlquery, fail instead of
//     building a string over MaxOutputBytes or a list over MaxListLen.
//   - date functions never fall back to the current time, and use UTC where
//     Sprig used the service's local zone.
//
// # Typed output
//
// A leaf renders to a string unless its whole output is one typed marker:
//
//	replicas: "{{ .replicas | asInt }}"       # int64 3
//	enabled:  "{{ asBool .flag }}"            # bool
//	ratio:    "{{ asFloat .ratio }}"          # float64
//	config:   "{{ .settings | asJson }}"      # map[string]any, []any, ...
//
// A marker mixed with other text is an error, so a field meant to be a string
// never changes type by accident. RenderString refuses markers altogether.
//
// # Errors
//
// Every error is an *Error with the line and, when known, the function or
// missing key. A missing variable is an error (missingkey=error), never the
// text "<no value>".
//
// # Limits and cancellation
//
// Templates are cached by source (CacheSize), and each Render call is limited
// in output (MaxOutputBytes), list sizes (MaxListLen) and total range-loop
// iterations (10 × MaxListLen); sources over MaxTemplateBytes are refused.
// {{ template }}, {{ define }} and {{ block }} are refused, so recursion is
// impossible.
//
// A Budget carried by the context (WithBudget) bounds what all Render calls
// of one request build and keep: every function that builds a string, list
// or map charges it, every output is charged, and what a call built is
// given back when it ends except its output (budget.go, charge.go).
//
// Render checks its context at every output write, at every range iteration
// and at every call of a function that builds a value, and then stops with
// an error wrapping ctx.Err(). Functions whose cost grows faster than their
// input are bounded or check the context inside (costly.go): uniq and
// without run in one pass, the all-matches regex functions scan one match
// at a time, every regex scan is bounded by pattern size × input length,
// and derivePassword (scrypt) is throttled. A call of any other function
// completes. Callers should render a whole tenant under one deadline.
//
// Templates may not modify the variables map: set, unset and merge refuse to
// change a map reachable from it, so one leaf cannot change what the next leaf
// sees, and leaves of one tenant may be rendered concurrently with the same
// map.
//
// See docs/templates.md for the author-facing reference.
package tmpl
