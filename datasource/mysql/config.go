package mysql

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/tenant-hooks/tenant-hooks/datasource"
)

// DefaultQueryTimeout is used when Config.QueryTimeout is zero.
const DefaultQueryTimeout = 5 * time.Second

// TLS modes accepted in Config.TLS (go-sql-driver's tls parameter).
var tlsModes = map[string]bool{"": true, "false": true, "true": true, "skip-verify": true, "preferred": true}

// ValueFormat says how the value of a MySQL column becomes the text a
// template sees. docs/datasources.md has the table for every column type.
type ValueFormat string

const (
	// FormatV1 (the default, also "") reads every column exactly as Tenant
	// Operator v1.0 read it: go-sql-driver with parseTime=true (times in
	// UTC) and database/sql's conversion of the driver's value to a string.
	// DATE, DATETIME and TIMESTAMP become RFC 3339 ("2024-01-02T03:04:05Z",
	// a DATE "2024-01-02T00:00:00Z", a zero date "0001-01-01T00:00:00Z"),
	// FLOAT and DOUBLE the shortest 'g' form ("1.5e+06", "0.1"); every other
	// type is its text. Objects rendered from a v1.0 registry therefore do
	// not change when it moves to tenant-hooks.
	FormatV1 ValueFormat = "v1"
	// FormatPlain is the opt-in readable form: DATE, DATETIME and TIMESTAMP
	// as the server prints them ("2024-01-02", "2024-01-02 03:04:05"),
	// FLOAT and DOUBLE in decimal notation without exponent ("1500000");
	// every other type as in FormatV1.
	FormatPlain ValueFormat = "plain"
)

// Config is where a MySQL/MariaDB source reads its rows
// (spec.source.mysql of a TenantRegistry, with the password taken from the
// referenced Secret).
type Config struct {
	Host     string
	Port     int
	User     string
	Password string
	Database string
	Table    string // table or view, "table" or "database.table"

	// TLS is go-sql-driver's tls mode: "" or "false" (plain), "true"
	// (verified TLS), "skip-verify" (TLS without certificate check),
	// "preferred" (TLS if the server offers it, else plain).
	TLS string

	// QueryTimeout bounds one Rows call: connecting, running the query and
	// reading every row. Zero means DefaultQueryTimeout.
	QueryTimeout time.Duration

	// Values is how column values become text; "" means FormatV1.
	Values ValueFormat
}

// v1Values reports whether values are read the way Tenant Operator v1.0
// read them.
func (c Config) v1Values() bool { return c.Values == "" || c.Values == FormatV1 }

// Validate checks the configuration without contacting the server: host,
// user, database and table are required, the port must be 1-65535, the
// database and table must be valid identifiers (see datasource.ValidateTable), the TLS
// mode must be known and QueryTimeout not negative. All problems are
// reported, joined.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Host == "":
		errs = append(errs, errors.New("mysql.host is required"))
	case !validHost(c.Host):
		errs = append(errs, fmt.Errorf("mysql.host %q is not a host name or IP address", c.Host))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("mysql.port %d is outside 1-65535", c.Port))
	}
	switch {
	case c.User == "":
		errs = append(errs, errors.New("mysql.username is required"))
	case len(c.User) > 128 || strings.IndexFunc(c.User, unicode.IsControl) >= 0:
		errs = append(errs, fmt.Errorf("mysql.username %q is not a valid user name", c.User))
	}
	if c.Database == "" {
		errs = append(errs, errors.New("mysql.database is required"))
	} else if err := datasource.ValidateDatabase(c.Database); err != nil {
		errs = append(errs, fmt.Errorf("mysql.database: %w", err))
	}
	if c.Table == "" {
		errs = append(errs, errors.New("mysql.table is required"))
	} else if err := datasource.ValidateTable(c.Table); err != nil {
		errs = append(errs, fmt.Errorf("mysql.table: %w", err))
	}
	if !tlsModes[c.TLS] {
		errs = append(errs, fmt.Errorf("mysql.tls %q is not one of false, true, skip-verify, preferred", c.TLS))
	}
	if c.Values != "" && c.Values != FormatV1 && c.Values != FormatPlain {
		errs = append(errs, fmt.Errorf("value format %q is not one of v1, plain", c.Values))
	}
	if c.QueryTimeout < 0 {
		errs = append(errs, fmt.Errorf("query timeout %v is negative", c.QueryTimeout))
	}
	return errors.Join(errs...)
}

// String describes the configuration for logs. It never contains the
// password, only whether one is set.
func (c Config) String() string {
	pw := "no password"
	if c.Password != "" {
		pw = "password set"
	}
	tlsMode := c.TLS
	if tlsMode == "" {
		tlsMode = "false"
	}
	return fmt.Sprintf("mysql %s@%s (tls=%s, queryTimeout=%v, %s)", c.User, c.target(), tlsMode, c.queryTimeout(), pw)
}

// target is host:port/database.table (or host:port/db.table when Table is
// qualified), the location named in every error.
func (c Config) target() string {
	hp := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	if strings.Contains(c.Table, ".") {
		return hp + "/" + c.Table
	}
	return hp + "/" + c.Database + "." + c.Table
}

func (c Config) queryTimeout() time.Duration {
	if c.QueryTimeout <= 0 {
		return DefaultQueryTimeout
	}
	return c.QueryTimeout
}

// driverConfig builds go-sql-driver's configuration. network is "tcp" or
// the name a custom dialer was registered under.
//
// The connection is opened from this struct with gomysql.NewConnector (the
// driver's recommended way for a *gomysql.Config); no DSN string is built or
// parsed, so no user, password or host can smuggle DSN parameters in.
func (c Config) driverConfig(network string) *gomysql.Config {
	qt := c.queryTimeout()
	cfg := gomysql.NewConfig()
	cfg.User = c.User
	cfg.Passwd = c.Password
	cfg.Net = network
	cfg.Addr = net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	cfg.DBName = c.Database
	cfg.TLSConfig = c.TLS
	if cfg.TLSConfig == "" {
		cfg.TLSConfig = "false"
	}
	// The context deadline is the real bound; these are a backstop for a
	// single dial / read / write and never exceed the query timeout.
	cfg.Timeout = qt
	cfg.ReadTimeout = qt
	cfg.WriteTimeout = qt
	// v1.0 connected with parseTime=true and no loc: the driver turns
	// DATE/DATETIME/TIMESTAMP into time.Time in UTC, which cellScanner
	// then formats as database/sql did for v1.0. FormatPlain keeps the
	// server's text.
	cfg.ParseTime = c.v1Values()
	cfg.Loc = time.UTC
	cfg.InterpolateParams = false // no client-side SQL building
	cfg.MultiStatements = false
	cfg.AllowAllFiles = false
	return cfg
}

// validHost accepts DNS names (labels of letters, digits, '-' and '_'),
// IPv4 and IPv6 literals (without brackets).
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return false
			}
		}
	}
	return true
}
