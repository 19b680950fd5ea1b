package hooks_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
)

// A key twice in one object of a hook request used to be decoded with the
// last one winning (two "finalizing" keys: the second decided whether a
// Tenant was finalized). Every route answers 400 naming the key and where
// it is, in the envelope and deep inside an object (issue 12).
func TestEveryRouteRejectsDuplicateKeys(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Closed()}, hooks.Config{BodyLimit: 1 << 20})
	for _, r := range hookRoutes(t) {
		body := validBody(t, r)
		code, _, raw := secPost(t, ts, r.Path, body)
		require.Equal(t, 200, code, "%s: the valid body: %s", r.Path, raw)

		envelope := "controller" // the one key every shape has
		dupEnvelope := append([]byte(`{"`+envelope+`":{},`), bytes.TrimPrefix(bytes.TrimSpace(body), []byte("{"))...)
		code, hdr, raw := secPost(t, ts, r.Path, dupEnvelope)
		requireJSONError(t, code, hdr, raw, 400, `duplicate key "controller" in the envelope`)

		if r.Shape != "customize" {
			finalizing := append([]byte(`{"finalizing":true,"finalizing":false,`), bytes.TrimPrefix(bytes.TrimSpace(body), []byte("{"))...)
			code, hdr, raw = secPost(t, ts, r.Path, finalizing)
			requireJSONError(t, code, hdr, raw, 400, `duplicate key "finalizing" in the envelope`)
		}

		// Deep inside: the first metadata of the body (the controller's,
		// which the fast decoder only skims, in the captured requests) gets
		// a second "name".
		key := []byte(`"metadata":{`)
		i := bytes.Index(body, key)
		require.GreaterOrEqual(t, i, 0, r.Path)
		deep := append(append(append([]byte{}, body[:i+len(key)]...), `"name":"x","name":"y",`...), body[i+len(key):]...)
		code, hdr, raw = secPost(t, ts, r.Path, deep)
		requireJSONError(t, code, hdr, raw, 400, `duplicate key "name" in `, ".metadata")
	}
}
