package names

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

const (
	// MaxLabelLength bounds RFC 1123 labels, label values and the name part
	// of label and annotation keys.
	MaxLabelLength = 63
	// MaxSubdomainLength bounds RFC 1123 subdomains and key prefixes.
	MaxSubdomainLength = 253

	maxJobNameLength     = MaxLabelLength
	maxCronJobNameLength = 52
)

// InvalidError explains why a name, key or value was refused.
type InvalidError struct {
	// Subject says what was checked, e.g. `Service name` or `label key`.
	Subject string
	Value   string
	// Rule is what the value must be, phrased to follow "must be".
	Rule string
	// Problem is the first violation found, e.g. `'_' at position 5 is not
	// allowed`.
	Problem string
}

func (e *InvalidError) Error() string {
	msg := fmt.Sprintf("%s %q is invalid: must be %s", e.Subject, shorten(e.Value), e.Rule)
	if e.Problem != "" {
		msg += "; " + e.Problem
	}
	return msg
}

// shorten keeps error messages readable when the offending value is a
// whole paragraph; the Problem already says how long it was.
func shorten(s string) string {
	const keep = 80
	if utf8.RuneCountInString(s) <= keep {
		return s
	}
	n := 0
	for i := range s {
		if n == keep-3 {
			return s[:i] + "..."
		}
		n++
	}
	return s
}

const (
	ruleLabel     = "a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63 characters, start and end alphanumeric)"
	ruleSubdomain = "a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.', at most 253 characters, " +
		"start and end alphanumeric, an alphanumeric on both sides of every '.')"
	ruleJob = "a lowercase RFC 1123 subdomain of at most 63 characters (a-z, 0-9, '-', '.', " +
		"start and end alphanumeric), because the name is copied into a label on its pods"
	ruleCronJob = "a lowercase RFC 1123 subdomain of at most 52 characters (a-z, 0-9, '-', '.', " +
		"start and end alphanumeric), because each Job it creates appends an 11-character suffix"
	rulePathSegment = "a path segment name (not empty, not \".\" or \"..\", no '/' or '%')"
	ruleLabelValue  = "empty or at most 63 characters of A-Z, a-z, 0-9, '-', '_', '.', starting and ending alphanumeric"
	ruleLabelKey    = "an optional lowercase RFC 1123 subdomain prefix (at most 253 characters) and '/', " +
		"then a name of at most 63 characters of A-Z, a-z, 0-9, '-', '_', '.', starting and ending alphanumeric"
	ruleAnnotationKey = "an optional RFC 1123 subdomain prefix (at most 253 characters, any case) and '/', " +
		"then a name of at most 63 characters of A-Z, a-z, 0-9, '-', '_', '.', starting and ending alphanumeric"
)

// ValidateName checks name against the rule the API server applies to
// objects of kind (matched case-insensitively; unknown kinds get the
// subdomain rule that custom resources use). See the package documentation
// for the rules.
func ValidateName(kind, name string) error {
	rule, problem := nameRule(kind, name)
	if problem == "" {
		return nil
	}
	subject := "name"
	if kind != "" {
		subject = kind + " name"
	}
	return &InvalidError{Subject: subject, Value: name, Rule: rule, Problem: problem}
}

func nameRule(kind, name string) (rule, problem string) {
	is := func(kinds ...string) bool {
		for _, k := range kinds {
			if strings.EqualFold(kind, k) {
				return true
			}
		}
		return false
	}
	switch {
	case is("Namespace", "Service", "StatefulSet"):
		return ruleLabel, checkDNSLabel(name, MaxLabelLength)
	case is("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
		return rulePathSegment, checkPathSegment(name)
	case is("Job"):
		return ruleJob, checkSubdomain(name, maxJobNameLength)
	case is("CronJob"):
		return ruleCronJob, checkSubdomain(name, maxCronJobNameLength)
	default:
		return ruleSubdomain, checkSubdomain(name, MaxSubdomainLength)
	}
}

// ValidateLabelKey checks a label key: an optional lowercase DNS subdomain
// prefix and '/', then a name of up to 63 characters.
func ValidateLabelKey(k string) error {
	if p := checkQualifiedName(k, false); p != "" {
		return &InvalidError{Subject: "label key", Value: k, Rule: ruleLabelKey, Problem: p}
	}
	return nil
}

// ValidateAnnotationKey checks an annotation key. The syntax is that of
// label keys except that the API server lower-cases the prefix before
// checking it, so "Example.COM/owner" is a valid annotation key but not a
// valid label key.
func ValidateAnnotationKey(k string) error {
	if p := checkQualifiedName(k, true); p != "" {
		return &InvalidError{Subject: "annotation key", Value: k, Rule: ruleAnnotationKey, Problem: p}
	}
	return nil
}

// ValidateLabelValue checks a label value: empty, or up to 63 characters of
// [A-Za-z0-9-_.] that start and end alphanumeric.
func ValidateLabelValue(v string) error {
	if p := checkLabelValue(v); p != "" {
		return &InvalidError{Subject: "label value", Value: v, Rule: ruleLabelValue, Problem: p}
	}
	return nil
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isAlnum(c byte) bool      { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }
func isDNSChar(c byte) bool    { return isLowerAlnum(c) || c == '-' }
func isLabelValueChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '_' || c == '.'
}

// The check functions return "" when s is valid and otherwise the first
// problem, phrased to follow the rule in an error message.

func checkDNSLabel(s string, max int) string {
	return checkToken(s, max, isDNSChar, isLowerAlnum, true)
}

func checkSubdomain(s string, max int) string {
	if p := checkToken(s, max, func(c byte) bool { return isDNSChar(c) || c == '.' }, isLowerAlnum, true); p != "" {
		return p
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '.' && (!isLowerAlnum(s[i-1]) || !isLowerAlnum(s[i+1])) {
			return fmt.Sprintf("the '.' at position %d is not between two alphanumerics", i+1)
		}
	}
	return ""
}

func checkPathSegment(s string) string {
	switch s {
	case "":
		return "it is empty"
	case ".", "..":
		return "it is " + s
	}
	if i := strings.IndexAny(s, "/%"); i >= 0 {
		return fmt.Sprintf("%s at position %d is not allowed", quoteChar(s, i), utf8.RuneCountInString(s[:i])+1)
	}
	return ""
}

func checkLabelValue(s string) string {
	if s == "" {
		return ""
	}
	return checkToken(s, MaxLabelLength, isLabelValueChar, isAlnum, false)
}

func checkQualifiedName(k string, foldPrefix bool) string {
	prefix, name, hasPrefix := strings.Cut(k, "/")
	if !hasPrefix {
		return checkToken(k, MaxLabelLength, isLabelValueChar, isAlnum, false)
	}
	if strings.Contains(name, "/") {
		return "it contains more than one '/'"
	}
	if prefix == "" {
		return "the prefix before '/' is empty"
	}
	if foldPrefix {
		prefix = strings.ToLower(prefix)
	}
	if p := checkSubdomain(prefix, MaxSubdomainLength); p != "" {
		return "in the prefix before '/', " + p
	}
	if p := checkToken(name, MaxLabelLength, isLabelValueChar, isAlnum, false); p != "" {
		return "in the name after '/', " + p
	}
	return ""
}

// checkToken is the common shape of every rule here: non-empty, bounded
// length, an allowed alphabet, and particular characters at both ends.
// lower says whether the rule is lower-case only, so that an upper-case
// letter gets a clearer message than "not allowed".
func checkToken(s string, max int, allowed, edge func(byte) bool, lower bool) string {
	if s == "" {
		return "it is empty"
	}
	if n := utf8.RuneCountInString(s); len(s) > max {
		if n != len(s) {
			return fmt.Sprintf("it is %d bytes long", len(s))
		}
		return fmt.Sprintf("it is %d characters long", n)
	}
	for i := 0; i < len(s); i++ {
		if allowed(s[i]) {
			continue
		}
		pos := utf8.RuneCountInString(s[:i]) + 1
		if lower && s[i] >= 'A' && s[i] <= 'Z' {
			return fmt.Sprintf("%s at position %d is upper-case", quoteChar(s, i), pos)
		}
		return fmt.Sprintf("%s at position %d is not allowed", quoteChar(s, i), pos)
	}
	if !edge(s[0]) {
		return fmt.Sprintf("it starts with %s", quoteChar(s, 0))
	}
	if !edge(s[len(s)-1]) {
		return fmt.Sprintf("it ends with %s", quoteChar(s, len(s)-1))
	}
	return ""
}

// quoteChar quotes the character starting at byte i, decoding UTF-8 so that
// "é" is reported as 'é' rather than as its first byte.
func quoteChar(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return fmt.Sprintf("%q", r)
}
