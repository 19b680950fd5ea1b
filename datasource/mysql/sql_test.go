package mysql

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSelectStatement(t *testing.T) {
	s, err := selectStatement("crm.customers", []string{"active", "uid", "url"})
	require.NoError(t, err)
	require.Equal(t, "SELECT `active`, `uid`, `url` FROM `crm`.`customers`", s)
	_, err = selectStatement("t", nil)
	require.Error(t, err)
	_, err = selectStatement("t", []string{"ok", "bad col"})
	require.ErrorContains(t, err, `"bad col"`)
	_, err = selectStatement("bad table", []string{"ok"})
	require.ErrorContains(t, err, `"bad table"`)
}
