package datasource

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIdentifiers(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"uid", "UID", "tenant_id", "$x", "x$", "_", "1", "123abc", strings.Repeat("a", 64)} {
		require.NoError(t, ValidateColumn(ok), ok)
		require.NoError(t, ValidateTable(ok), ok)
		require.NoError(t, ValidateDatabase(ok), ok)
	}
	for _, bad := range []string{
		"", " ", "a b", "a-b", "a.b", "a`b", "`a`", "a'b", `a"b`, "a;b", "a--", "a/*", "a\x00", "a\n", "ä", "🚀",
		strings.Repeat("a", 65), "customers`; DROP TABLE x; --",
	} {
		require.ErrorContains(t, ValidateColumn(bad), "invalid column name", "%q", bad)
		require.ErrorContains(t, ValidateDatabase(bad), "invalid database name", "%q", bad)
	}
	for _, ok := range []string{"crm.customers", "a.b", strings.Repeat("a", 64) + "." + strings.Repeat("b", 64)} {
		require.NoError(t, ValidateTable(ok), ok)
	}
	for _, bad := range []string{"", ".", "a.", ".a", "a.b.c", "a..b", "a.b c", "a.`b`", "customers`; DROP TABLE x; --", "a." + strings.Repeat("b", 65)} {
		err := ValidateTable(bad)
		require.ErrorContains(t, err, "invalid table name", "%q", bad)
		require.Contains(t, err.Error(), `"`+strings.ReplaceAll(bad, `"`, `\"`)+`"`, "names the identifier")
	}
}

func TestQuoting(t *testing.T) {
	t.Parallel()
	q, err := QuoteTable("customers")
	require.NoError(t, err)
	require.Equal(t, "`customers`", q)
	q, err = QuoteTable("crm.customers")
	require.NoError(t, err)
	require.Equal(t, "`crm`.`customers`", q)
	q, err = QuoteColumn("$uid")
	require.NoError(t, err)
	require.Equal(t, "`$uid`", q)
	_, err = QuoteColumn("a`b")
	require.Error(t, err)
	_, err = QuoteTable("a`b")
	require.Error(t, err)
}
