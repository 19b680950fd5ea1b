package names

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Independent restatements of the Kubernetes regular expressions, so the
// hand-written checks are tested against something other than themselves.
var (
	reLabel      = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	reSubdomain  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	reLabelValue = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
)

func hash8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

func TestValidateName(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		kind, name string
		ok         bool
		problem    string // substring of the error when !ok
	}{
		// RFC 1123 labels.
		{"Service", "acme-web", true, ""},
		{"Service", "42-web", true, ""}, // relaxed Service names (Kubernetes 1.36+)
		{"Service", "a", true, ""},
		{"Service", long(63), true, ""},
		{"Service", long(64), false, "it is 64 characters long"},
		{"Service", "Acme_Web", false, "'A' at position 1 is upper-case"},
		{"Service", "acme_web", false, "'_' at position 5 is not allowed"},
		{"Service", "acme.web", false, "'.' at position 5 is not allowed"},
		{"Service", "-web", false, "it starts with '-'"},
		{"Service", "web-", false, "it ends with '-'"},
		{"Service", "", false, "it is empty"},
		{"Service", "café", false, "'é' at position 4 is not allowed"},
		{"Namespace", "acme", true, ""},
		{"Namespace", "acme.prod", false, "'.' at position 5"},
		{"namespace", "Acme", false, "upper-case"}, // kinds match case-insensitively
		{"StatefulSet", "db", true, ""},
		{"StatefulSet", "db.acme", false, "'.' at position 3"},

		// RFC 1123 subdomains.
		{"ConfigMap", "acme-web.config", true, ""},
		{"ConfigMap", long(253), true, ""},
		{"ConfigMap", long(254), false, "it is 254 characters long"},
		{"ConfigMap", long(100) + "." + long(100), true, ""}, // parts are not limited to 63
		{"ConfigMap", "acme..web", false, "the '.' at position 5 is not between two alphanumerics"},
		{"ConfigMap", "acme.-web", false, "the '.' at position 5"},
		{"ConfigMap", "acme-.web", false, "the '.' at position 6"},
		{"ConfigMap", ".acme", false, "it starts with '.'"},
		{"Deployment", "acme-web", true, ""},
		{"Deployment", "Acme", false, "upper-case"},
		{"Secret", "db_cred", false, "'_' at position 3"},
		{"Widget", "my.widget", true, ""},
		{"", "Bad", false, "upper-case"},

		// Job and CronJob lengths.
		{"Job", long(63), true, ""},
		{"Job", long(64), false, "it is 64 characters long"},
		{"Job", "migrate.v2", true, ""},
		{"CronJob", long(52), true, ""},
		{"CronJob", long(53), false, "it is 53 characters long"},

		// Path segments (RBAC).
		{"ClusterRole", "system:aggregate-to-edit", true, ""},
		{"Role", "Reader_Role", true, ""},
		{"RoleBinding", "..", false, "it is .."},
		{"ClusterRoleBinding", ".", false, "it is ."},
		{"Role", "a/b", false, "'/' at position 2 is not allowed"},
		{"Role", "50%", false, "'%' at position 3"},
		{"Role", "", false, "it is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.name, func(t *testing.T) {
			err := ValidateName(tt.kind, tt.name)
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			var ie *InvalidError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, tt.name, ie.Value)
			assert.Contains(t, err.Error(), tt.problem)
		})
	}
}

func TestValidateNameMessage(t *testing.T) {
	err := ValidateName("Service", "Acme_Web")
	assert.EqualError(t, err, `Service name "Acme_Web" is invalid: must be a lowercase RFC 1123 label `+
		`(a-z, 0-9, '-', at most 63 characters, start and end alphanumeric); 'A' at position 1 is upper-case`)

	err = ValidateName("", "a_b")
	assert.True(t, strings.HasPrefix(err.Error(), `name "a_b" is invalid: must be a lowercase RFC 1123 subdomain`), err.Error())

	// A huge value is shortened in the message but kept whole in the error.
	huge := strings.Repeat("x", 1000)
	err = ValidateName("Service", huge)
	var ie *InvalidError
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, huge, ie.Value)
	assert.Less(t, len(err.Error()), 400)
	assert.Contains(t, err.Error(), "it is 1000 characters long")
}

func TestValidateNameAgreesWithRegexp(t *testing.T) {
	inputs := []string{"a", "a-b", "a.b", "a..b", "-a", "a-", "A", "a_b", "0", "0-0", "a.b.c", "a.-b",
		"é", "a b", strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a.", 126) + "a"}
	for _, s := range inputs {
		wantLabel := reLabel.MatchString(s) && len(s) <= 63
		wantSub := reSubdomain.MatchString(s) && len(s) <= 253
		assert.Equal(t, wantLabel, ValidateName("Service", s) == nil, "label %q", s)
		assert.Equal(t, wantSub, ValidateName("ConfigMap", s) == nil, "subdomain %q", s)
	}
}

func TestValidateLabelKey(t *testing.T) {
	tests := []struct {
		key     string
		ok      bool
		problem string
	}{
		{"app", true, ""},
		{"App.Name_v2", true, ""},
		{"kubernetes-tenants.org/registry", true, ""},
		{"app.kubernetes.io/name", true, ""},
		{"a/b", true, ""},
		{strings.Repeat("a", 63), true, ""},
		{strings.Repeat("p", 253) + "/" + strings.Repeat("n", 63), true, ""},
		{"", false, "it is empty"},
		{strings.Repeat("a", 64), false, "it is 64 characters long"},
		{"-app", false, "it starts with '-'"},
		{"app_", false, "it ends with '_'"},
		{"my app", false, "' ' at position 3 is not allowed"},
		{"/app", false, "the prefix before '/' is empty"},
		{"example.com/", false, "in the name after '/', it is empty"},
		{"a/b/c", false, "more than one '/'"},
		{"Example.com/app", false, "in the prefix before '/', 'E' at position 1 is upper-case"},
		{"example_com/app", false, "in the prefix before '/', '_' at position 8"},
		{strings.Repeat("p", 254) + "/app", false, "in the prefix before '/', it is 254 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			err := ValidateLabelKey(tt.key)
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.problem)
			assert.True(t, strings.HasPrefix(err.Error(), "label key "), err.Error())
		})
	}
}

func TestValidateAnnotationKey(t *testing.T) {
	assert.NoError(t, ValidateAnnotationKey("kubernetes-tenants.org/hostOrUrl"))
	assert.NoError(t, ValidateAnnotationKey("Example.COM/Owner"), "annotation prefixes are case-insensitive")
	assert.Error(t, ValidateLabelKey("Example.COM/Owner"), "label prefixes are not")
	assert.NoError(t, ValidateAnnotationKey("description"))

	err := ValidateAnnotationKey("example.com/bad key")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `annotation key "example.com/bad key" is invalid`)
	assert.Contains(t, err.Error(), "in the name after '/', ' ' at position 4 is not allowed")
	assert.Error(t, ValidateAnnotationKey(""))
	assert.Error(t, ValidateAnnotationKey("a//b"))
}

func TestValidateLabelValue(t *testing.T) {
	for _, v := range []string{"", "a", "Acme", "v1.2.3", "a_b-c.d", "0", strings.Repeat("Z", 63)} {
		assert.NoError(t, ValidateLabelValue(v), v)
		assert.True(t, reLabelValue.MatchString(v))
	}
	for v, problem := range map[string]string{
		strings.Repeat("a", 64): "it is 64 characters long",
		"-a":                    "it starts with '-'",
		"a.":                    "it ends with '.'",
		"a b":                   "' ' at position 2 is not allowed",
		"a/b":                   "'/' at position 2",
		"Zürich":                "'ü' at position 2",
	} {
		err := ValidateLabelValue(v)
		require.Error(t, err, v)
		assert.Contains(t, err.Error(), problem)
		assert.False(t, reLabelValue.MatchString(v) && len(v) <= 63, v)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"acme-web", 63, "acme-web"},
		{"a", 63, "a"},
		{"42", 63, "42"},
		{"ACME", 63, "acme-" + hash8("ACME")},
		{"a.c.m.e", 63, "a-c-m-e-" + hash8("a.c.m.e")},
		{"Acme Corp", 63, "acme-corp-" + hash8("Acme Corp")},
		{"--acme--", 63, "acme-" + hash8("--acme--")},
		{"", 63, "x-" + hash8("")},
		{"___", 63, "x-" + hash8("___")},
		{"Zürich", 63, "z-rich-" + hash8("Zürich")},
		{"日本", 63, "x-" + hash8("日本")},
		{"abcdefghij", 5, hash8("abcdefghij")[:5]},
		{"abcdefghij", 10, "abcdefghij"}, // fits exactly
		{"abcdefghijk", 10, "a-" + hash8("abcdefghijk")},
		{"abc", 5, "abc"},           // short and valid: kept even when max is tiny
		{"acme-web", 0, "acme-web"}, // 0 means 63
		// Truncation must not leave a '-' before the separator.
		{"abcd-" + strings.Repeat("e", 70), 14, "abcd-" + hash8("abcd-"+strings.Repeat("e", 70))},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Sanitize(tt.in, tt.max)
			assert.Equal(t, tt.want, got)
			assert.NoError(t, ValidateName("Service", got))
		})
	}
}

func TestSanitizeLong(t *testing.T) {
	in := strings.Repeat("tenant", 50) // 300 characters, all valid
	got := Sanitize(in, 63)
	assert.Len(t, got, 63)
	assert.Equal(t, in[:54]+"-"+hash8(in), got)
	assert.NoError(t, ValidateName("Service", got))

	// Two long inputs that differ only after the cut stay apart.
	other := in[:299] + "x"
	assert.NotEqual(t, got, Sanitize(other, 63))

	// Unicode input longer than 63 bytes.
	uni := strings.Repeat("ü", 200)
	got = Sanitize(uni, 63)
	assert.LessOrEqual(t, len(got), 63)
	assert.NoError(t, ValidateName("Service", got))
}

func TestSanitizeIdempotent(t *testing.T) {
	for _, s := range []string{"acme-web", "ACME", "a.c.m.e", "Acme Corp", "", "日本", strings.Repeat("x", 300), "-a-"} {
		for _, max := range []int{1, 5, 9, 10, 20, 63} {
			once := Sanitize(s, max)
			assert.Equal(t, once, Sanitize(once, max), "%q max %d", s, max)
			assert.LessOrEqual(t, len(once), max)
			assert.NoError(t, ValidateName("Service", once))
		}
	}
}

func TestSanitizeKeepsLookAlikesApart(t *testing.T) {
	inputs := []string{"acme", "ACME", "Acme", "a.c.m.e", "a_c_m_e", "a c m e", "a-c-m-e", "acme.", ".acme", "acme-", "ACME ", "äcme"}
	seen := map[string]string{}
	for _, in := range inputs {
		out := Sanitize(in, 63)
		if prev, dup := seen[out]; dup {
			t.Errorf("%q and %q both sanitise to %q", prev, in, out)
		}
		seen[out] = in
	}
	assert.Equal(t, "acme", Sanitize("acme", 63))
	assert.Equal(t, "a-c-m-e", Sanitize("a-c-m-e", 63))
}

func TestLabelValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"acme", "acme"},
		{"Acme_Corp.v2", "Acme_Corp.v2"},
		{"Acme Corp", "Acme-Corp-" + hash8("Acme Corp")},
		{"_acme_", "acme-" + hash8("_acme_")},
		{"a/b", "a-b-" + hash8("a/b")},
		{"...", "x-" + hash8("...")},
		{"Zürich", "Z-rich-" + hash8("Zürich")},
		{"https://acme.example.invalid/x", "https---acme.example.invalid-x-" + hash8("https://acme.example.invalid/x")},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := LabelValue(tt.in)
			assert.Equal(t, tt.want, got)
			assert.NoError(t, ValidateLabelValue(got))
		})
	}

	long := strings.Repeat("A", 300)
	got := LabelValue(long)
	assert.Len(t, got, 63)
	assert.Equal(t, long[:54]+"-"+hash8(long), got)

	// A cut that lands on '.' or '_' must not leave it before the separator.
	dotted := strings.Repeat("a", 53) + "._" + strings.Repeat("b", 20)
	got = LabelValue(dotted)
	assert.Equal(t, strings.Repeat("a", 53)+"-"+hash8(dotted), got)
	assert.Equal(t, got, LabelValue(got), "idempotent")
}

func TestTenantName(t *testing.T) {
	assert.Equal(t, "acme-web", TenantName("acme", "web"))
	assert.Equal(t, "acme-corp-web-"+hash8("Acme Corp-web"), TenantName("Acme Corp", "web"))
	assert.Equal(t, "42-web", TenantName("42", "web"))

	// Names v1.0 created are kept exactly: dots and up to 253 characters
	// (issue 15: a switch-over must find v1.0's Tenants under their names).
	assert.Equal(t, "acme.corp-web", TenantName("acme.corp", "web"))
	assert.Equal(t, "a.b.c-web.v2", TenantName("a.b.c", "web.v2"))
	long := strings.Repeat("customer", 20)
	assert.Equal(t, long+"-web", TenantName(long, "web"))
	max := strings.Repeat("a", 249)
	assert.Equal(t, max+"-web", TenantName(max, "web"), "253 characters")

	// Names v1.0 could not create keep the sanitised form.
	for _, c := range []struct{ uid, tpl string }{
		{strings.Repeat("a", 250), "web"}, // 254 characters
		{"acme.", "web"},                  // '.' next to '-'
		{".acme", "web"},
		{"acme..corp", "web"},
		{"Acme.Corp", "web"},
		{"acme_corp", "web"},
		{"acme", "Web"},
	} {
		n := TenantName(c.uid, c.tpl)
		assert.Equal(t, Sanitize(c.uid+"-"+c.tpl, 63), n, "%q %q", c.uid, c.tpl)
		assert.LessOrEqual(t, len(n), 63)
		assert.NoError(t, ValidateName("Namespace", n))
	}
	assert.Equal(t, "acme-corp-web-"+hash8("Acme.Corp-web"), TenantName("Acme.Corp", "web"))

	// Empty uid: upstream produced "-web", which the API server refused.
	n := TenantName("", "web")
	assert.Equal(t, "web-"+hash8("-web"), n)
}

func TestTenantLabel(t *testing.T) {
	assert.Equal(t, "acme.corp-web", TenantLabel("acme.corp-web"))
	long := strings.Repeat("customer", 20) + "-web"
	got := TenantLabel(long)
	assert.NoError(t, ValidateLabelValue(got))
	assert.Equal(t, long[:54]+"-"+hash8(long), got)
	// Every name TenantName gives has a valid label, unchanged up to 63.
	for _, n := range []string{TenantName("Acme Corp", "web"), TenantName("42", "web"), TenantName("a.b", "c")} {
		assert.Equal(t, n, TenantLabel(n))
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"acme", "ACME", "a.c.m.e", "Acme Corp", "", "-", "日本", strings.Repeat("x", 300), "\xff\xfe"} {
		f.Add(s, 63)
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max % 80 // also exercises max <= 0 and max > 63
		got := Sanitize(s, max)
		limit := max
		if limit <= 0 {
			limit = MaxLabelLength
		}
		if len(got) > limit {
			t.Fatalf("Sanitize(%q, %d) = %q is longer than %d", s, max, got, limit)
		}
		if limit <= MaxLabelLength {
			if err := ValidateName("Service", got); err != nil {
				t.Fatalf("Sanitize(%q, %d) = %q: %v", s, max, got, err)
			}
		} else if err := ValidateName("ConfigMap", got); err != nil {
			t.Fatalf("Sanitize(%q, %d) = %q: %v", s, max, got, err)
		}
		if again := Sanitize(got, max); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
		if got != s && !strings.HasSuffix(got, hash8(s)[:min(8, len(got))]) {
			t.Fatalf("changed name %q lacks the hash of %q", got, s)
		}

		v := LabelValue(s)
		if err := ValidateLabelValue(v); err != nil {
			t.Fatalf("LabelValue(%q) = %q: %v", s, v, err)
		}
		if ValidateLabelValue(s) == nil && v != s {
			t.Fatalf("LabelValue changed valid %q to %q", s, v)
		}
	})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"acme-web", "Acme_Web", "a..b", "", ".", "a/b", "system:x", strings.Repeat("a", 300), "\xff"} {
		for _, kind := range []string{"Service", "ConfigMap", "Role", "CronJob", "Job", ""} {
			f.Add(kind, s)
		}
	}
	f.Fuzz(func(t *testing.T, kind, name string) {
		err := ValidateName(kind, name)
		if err != nil {
			if msg := err.Error(); !strings.Contains(msg, " is invalid: must be ") || !utf8.ValidString(strings.TrimPrefix(msg, kind)) {
				t.Fatalf("bad message %q", msg)
			}
		}
		// The label and subdomain checks must agree with the regexps.
		if strings.EqualFold(kind, "Service") {
			want := reLabel.MatchString(name) && len(name) <= 63
			if want != (err == nil) {
				t.Fatalf("Service %q: regexp says %v, ValidateName says %v", name, want, err)
			}
		}
		if strings.EqualFold(kind, "ConfigMap") {
			want := reSubdomain.MatchString(name) && len(name) <= 253
			if want != (err == nil) {
				t.Fatalf("ConfigMap %q: regexp says %v, ValidateName says %v", name, want, err)
			}
		}
		_ = ValidateLabelKey(name)
		_ = ValidateAnnotationKey(name)
		if (ValidateLabelValue(name) == nil) != (reLabelValue.MatchString(name) && len(name) <= 63) {
			t.Fatalf("label value %q disagrees with the regexp", name)
		}
	})
}

func BenchmarkSanitize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = TenantName("Acme Corp", "web")
	}
}

func BenchmarkValidateName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if ValidateName("Service", "acme-corp-web-1a2b3c4d") != nil {
			b.Fatal("invalid")
		}
	}
}
