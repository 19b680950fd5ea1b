package mysql

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
)

// valueTypesColumns is one column of every MySQL/MariaDB type a tenant
// table may use; docs/datasources.md shows the same table.
const valueTypesColumns = "uid VARCHAR(16) PRIMARY KEY, " +
	"ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, " +
	"de DECIMAL(10,2), f FLOAT, d DOUBLE, bt BIT(8), bo BOOL, " +
	"dt DATE, dtm DATETIME(6), dt0 DATETIME, ts TIMESTAMP NULL DEFAULT NULL, tm TIME, y YEAR, " +
	"c CHAR(4), vc VARCHAR(16), tx TEXT, bn BINARY(4), vb VARBINARY(8), bl BLOB, " +
	"e ENUM('small','large'), st SET('a','b','c'), j JSON"

// One row per line: the column values as SQL literals.
var valueTypesRows = []string{
	"('max', 127, 255, 32767, 8388607, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615, " +
		"1234.50, 0.1, 1500000, b'10100101', TRUE, " +
		"'2024-01-02', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05', '2024-01-02 03:04:05', '838:59:59', 2024, " +
		"'ab', 'héllo wörld', 'long text', 'ab', 'raw', 'blob', 'large', 'a,c', '{\"k\": [1, 2]}')",
	"('min', -128, 0, -32768, -8388608, -2147483648, 0, -9223372036854775808, 0, " +
		"-0.05, 3.14, 1e20, b'0', FALSE, " +
		"'0000-00-00', '2024-01-02 03:04:05.000000', '9999-12-31 23:59:59', '1970-01-01 00:00:01', '-838:59:59', 1901, " +
		"'', '', '', '', '', '', 'small', '', '[]')",
	"('small', 0, 1, 0, 0, 0, 0, 0, 1, 0.00, -1.5e-7, 0.000001, b'1', 2, " +
		"'1999-12-31', '2024-02-29 23:59:59.5', '2024-01-02 00:00:00', '2038-01-19 03:14:07', '00:00:00.5', 0, " +
		"'x', 'x', 'x', 'x', 'x', 'x', 'small', 'b', 'null')",
	"('null', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, " +
		"NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
}

// valueTypesWant is what each format gives: column -> uid -> text. A value
// of nil is SQL NULL. Where v1 and plain agree the plain map omits it.
var valueTypesV1 = map[string]map[string]any{
	"ti":  {"max": "127", "min": "-128", "small": "0"},
	"tu":  {"max": "255", "min": "0", "small": "1"},
	"si":  {"max": "32767", "min": "-32768", "small": "0"},
	"mi":  {"max": "8388607", "min": "-8388608", "small": "0"},
	"i":   {"max": "2147483647", "min": "-2147483648", "small": "0"},
	"iu":  {"max": "4294967295", "min": "0", "small": "0"},
	"bi":  {"max": "9223372036854775807", "min": "-9223372036854775808", "small": "0"},
	"bu":  {"max": "18446744073709551615", "min": "0", "small": "1"},
	"de":  {"max": "1234.50", "min": "-0.05", "small": "0.00"},
	"f":   {"max": "0.1", "min": "3.14", "small": "-1.5e-07"},
	"d":   {"max": "1.5e+06", "min": "1e+20", "small": "1e-06"},
	"bt":  {"max": "\xa5", "min": "\x00", "small": "\x01"},
	"bo":  {"max": "1", "min": "0", "small": "2"},
	"dt":  {"max": "2024-01-02T00:00:00Z", "min": "0001-01-01T00:00:00Z", "small": "1999-12-31T00:00:00Z"},
	"dtm": {"max": "2024-01-02T03:04:05.123456Z", "min": "2024-01-02T03:04:05Z", "small": "2024-02-29T23:59:59.5Z"},
	"dt0": {"max": "2024-01-02T03:04:05Z", "min": "9999-12-31T23:59:59Z", "small": "2024-01-02T00:00:00Z"},
	"ts":  {"max": "2024-01-02T03:04:05Z", "min": "1970-01-01T00:00:01Z", "small": "2038-01-19T03:14:07Z"},
	"tm":  {"max": "838:59:59", "min": "-838:59:59", "small": "00:00:00"}, // MariaDB truncates the fraction,
	"y":   {"max": "2024", "min": "1901", "small": "0"},
	"c":   {"max": "ab", "min": "", "small": "x"},
	"vc":  {"max": "héllo wörld", "min": "", "small": "x"},
	"tx":  {"max": "long text", "min": "", "small": "x"},
	"bn":  {"max": "ab\x00\x00", "min": "\x00\x00\x00\x00", "small": "x\x00\x00\x00"},
	"vb":  {"max": "raw", "min": "", "small": "x"},
	"bl":  {"max": "blob", "min": "", "small": "x"},
	"e":   {"max": "large", "min": "small", "small": "small"},
	"st":  {"max": "a,c", "min": "", "small": "b"},
	"j":   {"max": `{"k": [1, 2]}`, "min": "[]", "small": "null"},
}

var valueTypesPlain = map[string]map[string]any{
	"f":   {"max": "0.1", "min": "3.14", "small": "-0.00000015"},
	"d":   {"max": "1500000", "min": "100000000000000000000", "small": "0.000001"},
	"dt":  {"max": "2024-01-02", "min": "0000-00-00", "small": "1999-12-31"},
	"dtm": {"max": "2024-01-02 03:04:05.123456", "min": "2024-01-02 03:04:05.000000", "small": "2024-02-29 23:59:59.500000"},
	"dt0": {"max": "2024-01-02 03:04:05", "min": "9999-12-31 23:59:59", "small": "2024-01-02 00:00:00"},
	"ts":  {"max": "2024-01-02 03:04:05", "min": "1970-01-01 00:00:01", "small": "2038-01-19 03:14:07"},
}

func valueTypesTable(t *testing.T, srv *testServer) (string, []string) {
	tbl := srv.table(t, "values", valueTypesColumns)
	srv.exec(t, "INSERT INTO `"+tbl+"` VALUES "+strings.Join(valueTypesRows, ", "))
	var cols []string
	for _, def := range strings.Split(valueTypesColumns, ", ") {
		cols = append(cols, strings.Fields(def)[0])
	}
	return tbl, cols
}

func readValueTypes(t *testing.T, srv *testServer, tbl string, cols []string, format ValueFormat) map[string]datasource.RawRow {
	cfg := srv.config(t, tbl)
	cfg.Values = format
	src, err := newTestPools(t, PoolOptions{}).Source(cfg)
	require.NoError(t, err)
	rows, err := src.Rows(testCtx(t), cols)
	require.NoError(t, err)
	require.Len(t, rows, len(valueTypesRows))
	return rowsByUID(rows, "uid")
}

func checkValueTypes(t *testing.T, got map[string]datasource.RawRow, want ...map[string]map[string]any) {
	t.Helper()
	for col := range valueTypesV1 {
		for _, uid := range []string{"max", "min", "small", "null"} {
			var w any
			for _, m := range want {
				if v, ok := m[col][uid]; ok {
					w = v
				}
			}
			exp := datasource.Value{}
			if w != nil {
				exp = datasource.Value{S: w.(string), Valid: true}
			}
			require.Equal(t, exp, got[uid][col], "column %s, row %s", col, uid)
		}
	}
}

// Issue 15 item 3: by default every column type reads exactly as Tenant
// Operator v1.0 read it, so no object changes on a switch-over.
func TestMySQLValuesV1(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl, cols := valueTypesTable(t, srv)
	got := readValueTypes(t, srv, tbl, cols, "")
	checkValueTypes(t, got, valueTypesV1)
	require.Equal(t, got, readValueTypes(t, srv, tbl, cols, FormatV1), `"" is v1`)
}

// The opt-in plain format: dates as the server prints them, no exponents.
func TestMySQLValuesPlain(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl, cols := valueTypesTable(t, srv)
	checkValueTypes(t, readValueTypes(t, srv, tbl, cols, FormatPlain), valueTypesV1, valueTypesPlain)
}

// The v1 format is what v1.0's own code produced: the same query through
// go-sql-driver opened from v1.0's DSN (parseTime=true, nothing else) and
// scanned into sql.NullString (reference §2.1), compared cell by cell.
func TestMySQLValuesMatchV1(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl, cols := valueTypesTable(t, srv)
	got := readValueTypes(t, srv, tbl, cols, FormatV1)

	dsn := fmt.Sprintf("%s:%s@tcp(%s)/%s?parseTime=true", srv.cfg.User, srv.cfg.Passwd, srv.cfg.Addr, srv.cfg.DBName)
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	defer db.Close()
	rs, err := db.QueryContext(testCtx(t), "SELECT `"+strings.Join(cols, "`, `")+"` FROM "+tbl)
	require.NoError(t, err)
	defer rs.Close()
	n := 0
	for rs.Next() {
		cells := make([]sql.NullString, len(cols))
		dest := make([]any, len(cols))
		for i := range cells {
			dest[i] = &cells[i]
		}
		require.NoError(t, rs.Scan(dest...))
		row := got[cells[0].String]
		for i, col := range cols {
			require.Equal(t, datasource.Value{S: cells[i].String, Valid: cells[i].Valid}, row[col], "column %s, row %s", col, cells[0].String)
		}
		n++
	}
	require.NoError(t, rs.Err())
	require.Equal(t, len(valueTypesRows), n)
}
