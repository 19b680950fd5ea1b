package render

import (
	"strings"
	"unicode/utf8"
)

// asMap is the status.resources entry of r: the map encoding/json would
// produce from ResourceStatus's tags (omitempty fields left out), built
// directly instead of marshalling each entry to JSON and back. The round
// trip turned every invalid UTF-8 byte into U+FFFD; so does jsonText, so the
// answer stays byte-identical.
func (r ResourceStatus) asMap() map[string]any {
	r.ID, r.Kind, r.Name, r.Namespace = jsonText(r.ID), jsonText(r.Kind), jsonText(r.Name), jsonText(r.Namespace)
	r.State, r.Reason, r.Message, r.WaitingSince = jsonText(r.State), jsonText(r.Reason), jsonText(r.Message), jsonText(r.WaitingSince)
	m := make(map[string]any, 8)
	m["id"] = r.ID
	m["state"] = r.State
	if r.Kind != "" {
		m["kind"] = r.Kind
	}
	if r.Name != "" {
		m["name"] = r.Name
	}
	if r.Namespace != "" {
		m["namespace"] = r.Namespace
	}
	if r.Reason != "" {
		m["reason"] = r.Reason
	}
	if r.Message != "" {
		m["message"] = r.Message
	}
	if r.WaitingSince != "" {
		m["waitingSince"] = r.WaitingSince
	}
	if r.Owned {
		m["owned"] = true
	}
	return m
}

// jsonText is s as it comes back from a JSON round trip: each byte of
// invalid UTF-8 replaced by U+FFFD, as encoding/json does.
func jsonText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
