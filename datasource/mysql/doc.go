// Package mysql is the MySQL/MariaDB row source of a TenantRegistry: a
// datasource.Source over one table, read through pools shared per target.
//
// Design rules:
//
//   - Identifiers (table and column names) are validated against a strict
//     pattern (package datasource's rules) and always back-quoted; nothing
//     from a user is ever spliced into SQL unchecked (upstream inserted the
//     table name verbatim).
//   - Database handles are pooled per target in [Pools] instead of being
//     opened and closed on every call, and every query runs under a deadline
//     (the caller's context and [Config.QueryTimeout], whichever is sooner)
//     that also covers reading the rows.
//   - Errors say where and what (host:port/database.table, connect / auth /
//     query / timeout / canceled / connection lost, see [Error]) and never
//     contain the password.
//   - The package keeps no global state apart from the dialers registered with
//     the driver for [PoolOptions.Dial], and imports no metrics library:
//     callers observe queries through [Observer].
//
// It is the only package that imports the driver; package render depends on
// package datasource (the rows model) only.
package mysql
