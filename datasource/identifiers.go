package datasource

import (
	"fmt"
	"strings"
)

// MaxIdentifierLen is the longest table, database or column name accepted
// (MySQL's own limit for these identifiers).
const MaxIdentifierLen = 64

// validIdentifier reports whether s matches ^[A-Za-z0-9_$][A-Za-z0-9_$]*$
// and is at most MaxIdentifierLen bytes long. This is the set of characters
// MySQL allows in unquoted identifiers minus the non-ASCII range; anything
// else (spaces, quotes, back-quotes, dots, semicolons, comment markers) is
// refused rather than escaped.
func validIdentifier(s string) bool {
	if s == "" || len(s) > MaxIdentifierLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '$':
		default:
			return false
		}
	}
	return true
}

// ValidateColumn checks a column name (see validIdentifier). The error quotes
// the offending name with %q so that control characters stay visible.
func ValidateColumn(name string) error {
	if !validIdentifier(name) {
		return fmt.Errorf("invalid column name %q: want 1-%d characters from [A-Za-z0-9_$]", name, MaxIdentifierLen)
	}
	return nil
}

// ValidateTable checks a table (or view) name: either "table" or
// "database.table", each part a valid identifier.
func ValidateTable(name string) error {
	db, tbl, qualified := strings.Cut(name, ".")
	ok := validIdentifier(db)
	if qualified {
		ok = ok && validIdentifier(tbl)
	}
	if !ok {
		return fmt.Errorf("invalid table name %q: want table or database.table, each part 1-%d characters from [A-Za-z0-9_$]", name, MaxIdentifierLen)
	}
	return nil
}

// ValidateDatabase checks a database (schema) name.
func ValidateDatabase(name string) error {
	if !validIdentifier(name) {
		return fmt.Errorf("invalid database name %q: want 1-%d characters from [A-Za-z0-9_$]", name, MaxIdentifierLen)
	}
	return nil
}

// QuoteColumn validates a column name and returns it back-quoted: uid -> `uid`.
func QuoteColumn(name string) (string, error) {
	if err := ValidateColumn(name); err != nil {
		return "", err
	}
	return "`" + name + "`", nil
}

// QuoteTable validates a table name and returns it back-quoted part by part:
// customers -> `customers`, crm.customers -> `crm`.`customers`.
func QuoteTable(name string) (string, error) {
	if err := ValidateTable(name); err != nil {
		return "", err
	}
	if db, tbl, ok := strings.Cut(name, "."); ok {
		return "`" + db + "`.`" + tbl + "`", nil
	}
	return "`" + name + "`", nil
}
