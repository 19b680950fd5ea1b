package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/internal/fixtures"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// The shutdown test has its own database and user, so it can run while
// the hooks package's tests use theirs.
const (
	shutdownDB       = "th_shutdown"
	shutdownUser     = "th_shutdown_reader"
	shutdownPassword = "not-a-real-password-shutdown"
)

// goTool is the go command running this test: go test puts its GOROOT/bin
// first on PATH.
func goTool(t *testing.T) string {
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	return p
}

// buildBinary builds tenant-hooks into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tenant-hooks")
	cmd := exec.Command(goTool(t), "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// logLine is one line of the service's JSON log.
type logLine struct {
	at  time.Time
	rec map[string]any
}

// SIGTERM → /readyz answers 503 → the in-flight registry sync (a query
// against a slow MariaDB view, ~2 s) finishes with its full answer → the
// process exits 0. Tested on the real binary.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	_, cfg := mysqltest.Admin(t)
	stmts := []string{
		"CREATE DATABASE IF NOT EXISTS " + shutdownDB,
		"CREATE OR REPLACE TABLE " + shutdownDB + ".customers (customer_id VARCHAR(64), domain VARCHAR(255), is_active VARCHAR(8), plan VARCHAR(32))",
		"INSERT INTO " + shutdownDB + ".customers VALUES ('acme', 'https://shop.acme.example', '1', 'pro'), ('globex', 'https://app.globex.example', '1', 'basic')",
		"CREATE OR REPLACE VIEW " + shutdownDB + ".slow_customers AS SELECT * FROM " + shutdownDB + ".customers WHERE SLEEP(1) = 0",
	}
	for _, host := range []string{"%", "localhost", "127.0.0.1"} {
		stmts = append(stmts,
			"CREATE USER IF NOT EXISTS '"+shutdownUser+"'@'"+host+"' IDENTIFIED BY '"+shutdownPassword+"'",
			"ALTER USER '"+shutdownUser+"'@'"+host+"' IDENTIFIED BY '"+shutdownPassword+"'",
			"GRANT SELECT ON "+shutdownDB+".* TO '"+shutdownUser+"'@'"+host+"'")
	}
	mysqltest.Exec(t, stmts...)
	host, portText, err := net.SplitHostPort(cfg.Addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)

	// The captured first registry sync, pointed at the slow view.
	raw, err := os.ReadFile(filepath.Join(fixtures.Dir(), "registry-sync-first.json"))
	require.NoError(t, err)
	var req map[string]any
	require.NoError(t, json.Unmarshal(raw, &req))
	m := object.NestedMap(req["parent"].(map[string]any), "spec", "source", "mysql")
	m["host"], m["port"], m["database"], m["table"], m["username"] = host, port, shutdownDB, "slow_customers", shutdownUser
	object.SetNested(object.NestedMap(req, "related", "Secret.v1", "acme/db-cred"), base64.StdEncoding.EncodeToString([]byte(shutdownPassword)), "data", "password")
	body, err := json.Marshal(req)
	require.NoError(t, err)

	bin := buildBinary(t)
	const drain = 800 * time.Millisecond
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--drain-delay", drain.String(), "--shutdown-timeout", "15s", "--log-format", "json")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := make(chan logLine, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				lines <- logLine{at: time.Now(), rec: rec}
			}
		}
	}()
	var addr string
	select {
	case l := <-lines:
		require.Equal(t, "tenant-hooks serving", l.rec["msg"], "first log line: %v", l.rec)
		addr = l.rec["addr"].(string)
	case <-time.After(20 * time.Second):
		t.Fatalf("the service did not start: %s", stderr.String())
	}
	base := "http://" + addr
	client := &http.Client{Timeout: 20 * time.Second}
	get := func(p string) (int, error) {
		resp, err := client.Get(base + p)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	code, err := get("/readyz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)

	// The slow registry sync.
	type result struct {
		code int
		body []byte
		at   time.Time
		err  error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		resp, err := client.Post(base+"/hooks/registries/sync", "application/json", bytes.NewReader(body))
		if err != nil {
			done <- result{err: err, at: time.Now()}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{code: resp.StatusCode, body: b, at: time.Now(), err: err}
	}()
	// Wait until the query runs on the server: the request is in flight.
	db, _ := mysqltest.Admin(t)
	require.Eventually(t, func() bool {
		var n int
		return db.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE '%slow_customers%'", shutdownUser).Scan(&n) == nil && n > 0
	}, 5*time.Second, 10*time.Millisecond, "the registry query never started")

	require.NoError(t, syscall.Kill(cmd.Process.Pid, syscall.SIGTERM))
	sigterm := time.Now()

	// Readiness goes false while the listener still accepts (the drain).
	var notReady time.Time
	require.Eventually(t, func() bool {
		code, err := get("/readyz")
		if err == nil && code == http.StatusServiceUnavailable {
			notReady = time.Now()
			return true
		}
		return false
	}, drain, 10*time.Millisecond, "/readyz never answered 503 during the drain")
	// Liveness and hooks still answer during the drain.
	code, err = get("/healthz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)

	// The in-flight request finishes with its full answer.
	var res result
	select {
	case res = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the in-flight request did not finish")
	}
	require.NoError(t, res.err)
	require.Equal(t, http.StatusOK, res.code, "%s", res.body)
	var ans map[string]any
	require.NoError(t, json.Unmarshal(res.body, &ans))
	var tenants []string
	for _, c := range ans["children"].([]any) {
		tenants = append(tenants, object.Name(c.(map[string]any)))
	}
	require.Equal(t, []string{"acme-web", "acme-worker", "globex-web", "globex-worker"}, tenants)
	require.GreaterOrEqual(t, res.at.Sub(start), 1500*time.Millisecond, "the query really was slow")
	require.True(t, res.at.After(notReady), "the answer came after readiness went false")

	// Then the process exits 0.
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		require.NoError(t, err, "exit status; stderr: %s", stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatal("the process did not exit")
	}
	exited := time.Now()
	require.Equal(t, 0, cmd.ProcessState.ExitCode())
	require.True(t, exited.After(res.at) || exited.Equal(res.at))
	require.GreaterOrEqual(t, exited.Sub(sigterm), drain, "the drain delay is honoured")

	// The log tells the same story, in order.
	var msgs []string
	for l := range lines {
		msgs = append(msgs, l.rec["msg"].(string))
	}
	joined := strings.Join(msgs, " | ")
	require.Contains(t, joined, "shutting down: readiness false, draining")
	require.Contains(t, joined, "stopped")
	require.Less(t, strings.Index(joined, "shutting down"), strings.Index(joined, "stopped"))
	require.NotContains(t, joined, "graceful shutdown")
	require.NotContains(t, stderr.String()+joined, shutdownPassword)

	_, err = get("/healthz")
	require.Error(t, err, "nothing listens any more")
}
