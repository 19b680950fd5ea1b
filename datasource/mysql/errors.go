package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"

	gomysql "github.com/go-sql-driver/mysql"
)

// ErrorKind classifies a failure of the MySQL source.
type ErrorKind string

// The kinds of MySQL source failures.
const (
	KindConfig     ErrorKind = "invalid configuration" // bad host, identifier, TLS mode, …; nothing was sent
	KindConnect    ErrorKind = "connect"               // dial, TLS handshake, unknown database, too many connections
	KindAuth       ErrorKind = "auth"                  // access denied and other authentication errors
	KindQuery      ErrorKind = "query"                 // the server rejected or aborted the query (missing table/column, KILL QUERY, …)
	KindTimeout    ErrorKind = "timeout"               // QueryTimeout or the caller's deadline expired
	KindCanceled   ErrorKind = "canceled"              // the caller's context was canceled
	KindConnLost   ErrorKind = "connection lost"       // the connection broke while the query ran
	KindPoolClosed ErrorKind = "pool closed"           // Pools.Close was called
	KindTooLarge   ErrorKind = "result too large"      // the rows would need more memory than PoolOptions.MaxResultBytes
)

// Error is the error type of the MySQL source. Its text names the target
// (host:port/database.table) and the kind of failure and never contains the
// password; the driver's message is kept (for example "Error 1045 (28000):
// Access denied for user 'app'@'10.0.0.7' (using password: YES)").
type Error struct {
	Kind   ErrorKind
	Target string // host:port/database.table
	msg    string // cause text, password scrubbed
	err    error
}

func (e *Error) Error() string {
	return "datasource: mysql " + e.Target + ": " + string(e.Kind) + ": " + e.msg
}

// Unwrap gives the underlying error, so errors.Is(err,
// context.DeadlineExceeded) and errors.As(err, **gomysql.MySQLError) work.
func (e *Error) Unwrap() error { return e.err }

// newError builds an Error whose message cannot contain password, even if a
// dialer or the driver were to echo it.
func newError(kind ErrorKind, target, password string, err error) *Error {
	msg := "<nil>"
	if err != nil {
		msg = err.Error()
	}
	if len(password) >= 3 {
		msg = strings.ReplaceAll(msg, password, "******")
	}
	if strings.IndexFunc(target, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		target = strconv.Quote(target) // an invalid config must not inject lines into logs
	}
	return &Error{Kind: kind, Target: target, msg: msg, err: err}
}

// KindOf returns the ErrorKind of err (or of the first *Error it wraps), or
// "" when err did not come from the MySQL source.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// IsTimeout reports whether err means a deadline expired: a MySQL source
// error of KindTimeout, context.DeadlineExceeded, or a network timeout.
func IsTimeout(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind == KindTimeout
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// MySQL server error numbers used for classification.
var authErrors = map[uint16]bool{
	1044: true, // ER_DBACCESS_DENIED_ERROR
	1045: true, // ER_ACCESS_DENIED_ERROR
	1227: true, // ER_SPECIFIC_ACCESS_DENIED_ERROR
	1251: true, // ER_NOT_SUPPORTED_AUTH_MODE
	1275: true, // ER_SERVER_IS_IN_SECURE_AUTH_MODE
	1698: true, // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
	1820: true, // ER_MUST_CHANGE_PASSWORD
	1862: true, // ER_MUST_CHANGE_PASSWORD_LOGIN
	4151: true, // MariaDB ER_ACCOUNT_HAS_BEEN_LOCKED
}

var killedErrors = map[uint16]bool{
	1053: true, // ER_SERVER_SHUTDOWN
	1927: true, // MariaDB ER_CONNECTION_KILLED
	2013: true, // CR_SERVER_LOST
}

// classify decides the kind of a failure. connecting tells whether the
// error came from obtaining a connection (dial + handshake) rather than from
// the query. parent is the caller's context, qctx the query context derived
// from it (with QueryTimeout).
func classify(parent, qctx context.Context, connecting bool, err error) ErrorKind {
	// The contexts are the most reliable signal: when one expires the driver
	// closes the socket and reports whatever the read returned.
	if errors.Is(parent.Err(), context.Canceled) {
		return KindCanceled
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(qctx.Err(), context.DeadlineExceeded) {
		return KindTimeout
	}
	// The driver's socket deadlines (ReadTimeout = QueryTimeout) can fire a
	// moment before the context's timer does; the clock decides.
	if dl, ok := qctx.Deadline(); ok && !time.Now().Before(dl) {
		return KindTimeout
	}
	if errors.Is(err, context.Canceled) {
		return KindCanceled
	}
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch {
		case authErrors[me.Number]:
			return KindAuth
		case killedErrors[me.Number]:
			return KindConnLost
		case connecting:
			return KindConnect
		}
		return KindQuery
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	if connecting {
		return KindConnect
	}
	if errors.Is(err, gomysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) || errors.As(err, &ne) {
		return KindConnLost
	}
	return KindQuery
}
