package steady

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenant-hooks/tenant-hooks/internal/repo"
)

// BuildBinary builds cmd/tenant-hooks into bin/tenant-hooks of the module
// (what `make build` does) and returns its path.
func BuildBinary() (string, error) {
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	out := filepath.Join(root, "bin", "tenant-hooks")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd/tenant-hooks")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, b)
	}
	return out, nil
}

// FreeLoopbackAddr returns 127.0.0.1:<a free port>.
func FreeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// Service is a `tenant-hooks serve` subprocess on a loopback port.
type Service struct {
	Addr string
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

// StartService runs bin serve --addr 127.0.0.1:<free port> extra... and
// waits until /readyz answers.
func StartService(bin string, extra ...string) (*Service, error) {
	return StartServiceEnv(bin, nil, extra...)
}

// StartServiceEnv is StartService with extra environment variables
// ("GOMEMLIMIT=512MiB").
func StartServiceEnv(bin string, env []string, extra ...string) (*Service, error) {
	addr, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--addr", addr, "--log-level", "warn", "--drain-delay", "0s"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Service{Addr: addr, cmd: cmd, logs: logs}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("service did not become ready on %s: %s", addr, logs.String())
}

// URL is the service's base URL.
func (s *Service) URL() string { return "http://" + s.Addr }

// Pid is the subprocess id.
func (s *Service) Pid() int { return s.cmd.Process.Pid }

// Logs returns what the service printed.
func (s *Service) Logs() string { return s.logs.String() }

// Stop ends the subprocess (SIGTERM, then SIGKILL after 5 s) and waits.
func (s *Service) Stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// ProcStatus reads VmHWM (peak RSS) and VmRSS of a process, in bytes.
func ProcStatus(pid int) (hwm, rss int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, k := range []string{"VmHWM:", "VmRSS:"} {
			if strings.HasPrefix(line, k) {
				fields := strings.Fields(line[len(k):])
				if len(fields) >= 1 {
					kb, _ := strconv.ParseInt(fields[0], 10, 64)
					if k == "VmHWM:" {
						hwm = kb << 10
					} else {
						rss = kb << 10
					}
				}
			}
		}
	}
	return hwm, rss, sc.Err()
}

// MiB formats bytes as MiB.
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// CPUModel names the processor, for the headers of measurement tables.
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}
