package names

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// hashLength is how many hex digits of SHA-256 a changed name carries.
const hashLength = 8

// Sanitize turns s into an object name of at most max characters: lower
// case, every character outside [a-z0-9-] replaced by '-', leading and
// trailing '-' trimmed, "x" if nothing is left. If that differs from s or
// is longer than max, it is cut short to make room for "-" and 8 hex digits
// of SHA-256(s), so that different inputs get different names (see the
// package documentation for the limits of that promise).
//
// For 1 <= max <= 63 the result is always a valid RFC 1123 label, and a
// valid label no longer than max comes back unchanged, which makes Sanitize
// idempotent. max <= 0 means 63. Below 10 there is no room for both text
// and hash, and a changed name is the first max digits of the hash.
func Sanitize(s string, max int) string {
	if max <= 0 {
		max = MaxLabelLength
	}
	out := replaceInvalid(strings.ToLower(s), isDNSChar, "-")
	if out == s && len(out) <= max {
		return out
	}
	return withHash(out, s, max, "-")
}

// LabelValue turns s into a valid label value: a valid value comes back
// unchanged; otherwise every character outside [A-Za-z0-9-_.] becomes '-',
// characters other than alphanumerics are trimmed from both ends, "x" is
// used if nothing is left, and the result is cut to make room for "-" and
// 8 hex digits of SHA-256(s), 63 characters in all.
func LabelValue(s string) string {
	if checkLabelValue(s) == "" {
		return s
	}
	return withHash(replaceInvalid(s, isLabelValueChar, "-_."), s, MaxLabelLength, "-_.")
}

// replaceInvalid replaces every character of s that valid refuses (and
// every non-ASCII one) with '-', trims the characters of cut from both
// ends, and gives "x" if nothing is left.
func replaceInvalid(s string, valid func(byte) bool, cut string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < 0x80 && valid(byte(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), cut)
	if out == "" {
		out = "x"
	}
	return out
}

// TenantName is the name of the Tenant for one row uid and one template.
// When "<uid>-<template>" is a valid Tenant name (an RFC 1123 subdomain of
// at most 253 characters, dots included) it is that name, exactly as
// Tenant Operator v1.0 named the Tenant, so a switch-over finds and keeps
// v1.0's Tenants: ("acme", "web") gives "acme-web" and ("acme.corp", "web")
// "acme.corp-web". Anything else is a name v1.0 could not create, and gets
// Sanitize(uid + "-" + template, 63): ("Acme Corp", "web") becomes
// "acme-corp-web-" followed by 8 hex digits.
//
// A name longer than 63 characters cannot be a label value; TenantLabel
// gives the value that stands for it in labels.
func TenantName(uid, template string) string {
	n := uid + "-" + template
	if checkSubdomain(n, MaxSubdomainLength) == "" {
		return n
	}
	return Sanitize(n, MaxLabelLength)
}

// TenantLabel is the label value that names the Tenant called name on its
// children and in selectors: the name itself when it is a valid label
// value (every name of 63 characters or fewer that TenantName gives), and
// LabelValue(name) for the longer names kept from v1.0.
func TenantLabel(name string) string { return LabelValue(name) }

// withHash appends "-" and the hash of orig to text, cutting text short so
// the whole fits in max. Characters in trim are removed from the cut end
// again, because truncation can expose one and it must not end up next to
// the separator or, if text vanishes, at the start.
func withHash(text, orig string, max int, trim string) string {
	sum := sha256.Sum256([]byte(orig))
	h := hex.EncodeToString(sum[:hashLength/2])
	room := max - len(h) - 1
	if room <= 0 {
		return h[:min(len(h), max)]
	}
	text = strings.TrimRight(text[:min(len(text), room)], trim)
	if text == "" {
		return h
	}
	return text + "-" + h
}
