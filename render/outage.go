package render

import (
	"time"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// SourceOutage is a registry whose rows could not be read: the database
// refused or timed out, the password Secret or the rows ConfigMap is
// missing or unreadable, the rows are malformed.
type SourceOutage struct {
	// Reason is DatabaseReachable's reason, the class of the failure
	// (ConnectFailed, AuthFailed, SecretMissing, InvalidRows, …).
	Reason string
	// Message says what failed; the caller guarantees it holds no password.
	Message string
}

// Outage retry delays (docs/datasources.md "When the source fails"): the
// first retry comes soon, because most outages are a failover or a restart
// of a few seconds; each further failure doubles the delay so that a long
// outage does not cost the database a connection attempt from every
// registry every few seconds; the last step is the registry controller's
// resyncPeriodSeconds (60 s), beyond which a longer delay changes nothing —
// Metacontroller syncs every registry that often anyway.
const (
	OutageRetryFirst = 5 * time.Second
	OutageRetryMax   = 60 * time.Second
)

// OutageBackoff is the resyncAfterSeconds of the n-th consecutive failed
// sync (n ≥ 1): 5, 10, 20, 40, 60, 60, … seconds.
func OutageBackoff(n int) time.Duration {
	d := OutageRetryFirst
	for i := 1; i < n && d < OutageRetryMax; i++ {
		d *= 2
	}
	return min(d, OutageRetryMax)
}

// StatusConsecutiveFailures is the status field counting failed syncs in a
// row; the answer's status is the hook's only memory, so the backoff reads
// it from the registry it answers for.
const StatusConsecutiveFailures = "consecutiveFailures"

// KeepForOutage answers a registry sync whose rows could not be read (the
// keep rule, written at tenantCtx.keep): every observed Tenant in its kept form (the same one the mass-deletion guard
// returns: spec, labels and annotations as observed, without the API
// server's fields), a status that says what failed, and a backoff. A 200
// rather than a 503 so that the failure is visible in the registry's status;
// Metacontroller deletes nothing, because every observed Tenant is in the
// answer, and skips the terminating ones.
func KeepForOutage(in RegistryInput, reg *Registry, o SourceOutage) RegistryOutput {
	failures := failuresAfter(in.Registry)
	out := keepTenants(in, reg, "SourceUnavailable", "the rows could not be read (see DatabaseReachable)")
	out.ResyncAfter = OutageBackoff(failures)
	conds := out.Status["conditions"].([]any)
	conds = append(conds, condition("DatabaseReachable", "False", o.Reason, o.Message))
	sortConditions(conds)
	out.Status["conditions"] = conds
	out.Status[StatusConsecutiveFailures] = failures
	out.Status["keptTenants"] = out.NumChildren
	return out
}

// failuresAfter is the consecutiveFailures of a parent's failed sync: one
// more than its status says (an implausible count starts over).
func failuresAfter(parent object.Obj) int {
	if n, ok := object.Int64(parent, "status", StatusConsecutiveFailures); ok && n > 0 && n < 1<<20 {
		return int(n) + 1
	}
	return 1
}
