package mysql

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMySQLConfigValidate(t *testing.T) {
	t.Parallel()
	good := offlineConfig()
	require.NoError(t, good.Validate())
	for _, mod := range []func(*Config){
		func(c *Config) { c.Host = "10.0.0.7" },
		func(c *Config) { c.Host = "::1" },
		func(c *Config) { c.Host = "db_1.internal." },
		func(c *Config) { c.Port = 1 },
		func(c *Config) { c.Port = 65535 },
		func(c *Config) { c.Password = "" },
		func(c *Config) { c.User = "app@prod:x" },
		func(c *Config) { c.Table = "other.customers" },
		func(c *Config) { c.TLS = "false" },
		func(c *Config) { c.TLS = "true" },
		func(c *Config) { c.TLS = "skip-verify" },
		func(c *Config) { c.TLS = "preferred" },
		func(c *Config) { c.QueryTimeout = time.Millisecond },
	} {
		c := good
		mod(&c)
		require.NoError(t, c.Validate(), "%s", c)
	}

	bad := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Host = "" }, "mysql.host is required"},
		{func(c *Config) { c.Host = "db)/x?allowAllFiles=true" }, "is not a host name"},
		{func(c *Config) { c.Host = "[::1]" }, "is not a host name"},
		{func(c *Config) { c.Host = "db:3306" }, "is not a host name"},
		{func(c *Config) { c.Host = "-db" }, "is not a host name"},
		{func(c *Config) { c.Port = 0 }, "mysql.port 0"},
		{func(c *Config) { c.Port = 65536 }, "mysql.port 65536"},
		{func(c *Config) { c.User = "" }, "mysql.username is required"},
		{func(c *Config) { c.User = "a\nb" }, "not a valid user name"},
		{func(c *Config) { c.Database = "" }, "mysql.database is required"},
		{func(c *Config) { c.Database = "crm;" }, `invalid database name "crm;"`},
		{func(c *Config) { c.Table = "" }, "mysql.table is required"},
		{func(c *Config) { c.Table = "customers`; DROP TABLE x; --" }, "invalid table name \"customers`; DROP TABLE x; --\""},
		{func(c *Config) { c.TLS = "custom" }, `mysql.tls "custom"`},
		{func(c *Config) { c.QueryTimeout = -time.Second }, "negative"},
	}
	for _, b := range bad {
		c := good
		b.mod(&c)
		err := c.Validate()
		require.ErrorContains(t, err, b.want)
		require.NotContains(t, err.Error(), c.Password)
	}

	// Several problems are all reported.
	err := Config{}.Validate()
	for _, w := range []string{"host", "port", "username", "database", "table"} {
		require.ErrorContains(t, err, w)
	}
}

func TestMySQLConfigString(t *testing.T) {
	t.Parallel()
	c := offlineConfig()
	s := c.String()
	require.NotContains(t, s, c.Password)
	require.Equal(t, "mysql app@mysql.acme.svc.cluster.local:3306/crm.customers (tls=false, queryTimeout=5s, password set)", s)
	c.Password, c.TLS, c.QueryTimeout, c.Host, c.Table = "", "true", 2*time.Second, "::1", "other.t"
	require.Equal(t, "mysql app@[::1]:3306/other.t (tls=true, queryTimeout=2s, no password)", c.String())
}

func TestMySQLConfigDriverConfig(t *testing.T) {
	t.Parallel()
	c := offlineConfig()
	c.QueryTimeout = 2 * time.Second
	d := c.driverConfig("tcp")
	require.Equal(t, "mysql.acme.svc.cluster.local:3306", d.Addr)
	require.Equal(t, c.Password, d.Passwd)
	require.Equal(t, "false", d.TLSConfig)
	require.True(t, d.ParseTime, "v1.0's DSN had parseTime=true")
	require.Equal(t, time.UTC, d.Loc, "and no loc")
	c.Values = FormatPlain
	require.False(t, c.driverConfig("tcp").ParseTime, "plain keeps the server's text")
	require.False(t, d.InterpolateParams)
	require.False(t, d.MultiStatements)
	require.False(t, d.AllowAllFiles)
	for _, to := range []time.Duration{d.Timeout, d.ReadTimeout, d.WriteTimeout} {
		require.Positive(t, to)
		require.LessOrEqual(t, to, c.QueryTimeout)
	}
	require.True(t, strings.HasPrefix(Config{Host: "::1", Port: 3306}.driverConfig("tcp").Addr, "[::1]"))
	require.Equal(t, DefaultQueryTimeout, Config{}.driverConfig("tcp").ReadTimeout)
}

func TestMySQLConfigValueFormat(t *testing.T) {
	t.Parallel()
	c := offlineConfig()
	for _, f := range []ValueFormat{"", FormatV1, FormatPlain} {
		c.Values = f
		require.NoError(t, c.Validate(), f)
	}
	c.Values = "iso"
	require.ErrorContains(t, c.Validate(), `value format "iso" is not one of v1, plain`)

	// The two formats need differently configured connections: never one pool.
	p := newTestPools(t, PoolOptions{})
	c.Values = FormatV1
	k1, id1 := p.keys(c)
	c.Values = FormatPlain
	k2, id2 := p.keys(c)
	require.NotEqual(t, k1, k2)
	require.NotEqual(t, id1, id2)
	c.Values = ""
	k3, _ := p.keys(c)
	require.Equal(t, k1, k3)
}
