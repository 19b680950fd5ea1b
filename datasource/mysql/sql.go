package mysql

import (
	"fmt"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/datasource"
)

// selectStatement builds SELECT `c1`, `c2` FROM `table`. Every identifier is
// validated; the first invalid one is reported.
func selectStatement(table string, columns []string) (string, error) {
	if len(columns) == 0 {
		return "", fmt.Errorf("no columns to select")
	}
	qt, err := datasource.QuoteTable(table)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(16 + len(qt) + len(columns)*(datasource.MaxIdentifierLen/4+4))
	b.WriteString("SELECT ")
	for i, c := range columns {
		if err := datasource.ValidateColumn(c); err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('`')
		b.WriteString(c)
		b.WriteByte('`')
	}
	b.WriteString(" FROM ")
	b.WriteString(qt)
	return b.String(), nil
}
