// Package datasource turns the rows of a tenant table into the set of active
// tenants a TenantRegistry asks for.
//
// The package has three layers, one idea per file:
//
//   - Sources deliver raw rows. [Source] is the only contract: given the
//     columns a [Mapping] needs, return one [RawRow] per row, honouring the
//     context deadline. There are two implementations: the static source
//     ([NewStatic], rows written inline in the registry or in a ConfigMap,
//     see [ParseStaticRows]), here, and the MySQL/MariaDB source, in the
//     sub-package datasource/mysql (Pools.Source), so that the render core,
//     which needs only the rows model ([Mapping], [Result], the identifier
//     rules), never links a database driver (render/deps_test.go checks it).
//   - [Mapping] says which columns feed which template variables
//     (spec.valueMappings and spec.extraValueMappings of a TenantRegistry).
//   - [Evaluate] applies the activation rule shared by every source: it keeps
//     rows whose activate cell is one of upstream's truthy strings, skips rows
//     without a uid, drops duplicate uids (first row wins) and returns the
//     active records sorted by uid together with counters and examples that
//     the registry status reports.
//
// Design rules:
//
//   - Every cell is text. SQL NULL (or a key missing from an inline row) is a
//     [Value] with Valid=false, never an error: upstream v1.0.0 failed the
//     whole sync on a NULL in uid, hostOrUrl or activate; we do not.
//   - Identifiers (table and column names) are validated against a strict
//     pattern and always back-quoted; nothing from a user is ever spliced into
//     SQL unchecked (upstream inserted the table name verbatim).
//   - The package keeps no global state and imports no database driver and
//     no metrics library.
package datasource
