package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tailor-project/tailor/test/controlplane"
)

// child is a program of bin/tailor the test runs as a process of its own,
// so that it can be killed as a crash kills it: with SIGKILL, nothing
// flushed, nothing released.
type child struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	// killed is set once the test killed the child on purpose.
	killed atomic.Bool
}

// tailorBinary is bin/tailor (in $TAILOR_BIN_DIR when set). The suites do
// not build it: linking takes minutes, so `make build` does it once and
// `make test` depends on it. A binary older than the code it is built from
// would test yesterday's code, so that fails too.
func tailorBinary(t *testing.T) string {
	t.Helper()
	dir, err := controlplane.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tailor")
	info, err := os.Stat(path)
	if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		t.Fatalf("%s is not built: run `make build` (make test builds it first)", path)
	}
	if newer, err := newerSource(info.ModTime()); err != nil {
		t.Fatal(err)
	} else if newer != "" {
		t.Fatalf("%s is older than %s: run `make build` so the processes run the code under test", path, newer)
	}
	return path
}

// newerSource returns a Go file of the binary's packages changed after
// built, or "". It looks once per test binary: what is edited while the
// suites run does not fail the tests that follow.
func newerSource(built time.Time) (string, error) {
	staleness.once.Do(func() { staleness.newer, staleness.err = findNewerSource(built) })
	return staleness.newer, staleness.err
}

var staleness struct {
	once  sync.Once
	newer string
	err   error
}

// findNewerSource walks the binary's packages for a Go file changed after
// built.
func findNewerSource(built time.Time) (string, error) {
	root, err := controlplane.RepoRoot()
	if err != nil {
		return "", err
	}
	var newer string
	for _, dir := range []string{"apis", "cmd", "launcher", "plugin"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if newer != "" {
				return fs.SkipAll
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if info.ModTime().After(built) {
				newer = path
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("comparing bin/tailor with its sources: %w", err)
		}
	}
	return newer, nil
}

// startChild runs bin/tailor with args and the test's environment plus env,
// its output in dir/<name>.log. The kernel kills it if the test binary dies
// (Pdeathsig), so a crashed test leaks no process. When the test ends the
// child is stopped, and if the test failed the end of its log is printed.
func startChild(t *testing.T, bin, dir, name string, env map[string]string, args ...string) *child {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatalf("opening the log of %s: %v", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	c := &child{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		logFile.Close()
		close(c.done)
	}()
	t.Cleanup(func() {
		if err := c.stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("last lines of %s (%s):\n%s", name, c.state(), c.tail(60))
		}
	})
	return c
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *child) state() string {
	if !c.exited() {
		return fmt.Sprintf("pid %d, running", c.pid())
	}
	return fmt.Sprintf("pid %d, ended: %v", c.pid(), c.waitErr)
}

// kill ends the child as a crash does: SIGKILL, and waits until it is gone.
func (c *child) kill() {
	c.killed.Store(true)
	if !c.exited() {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-c.done
}

// stop asks the child to end, and kills it if it has not within ten
// seconds. A child that already ended is not an error: a test that kills
// one checks what it killed.
func (c *child) stop() error {
	if c.exited() {
		return nil
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping %s: %w", c.name, err)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.kill()
	}
	return nil
}

// log is everything the child wrote so far.
func (c *child) log() string {
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	return string(data)
}

// linesWith returns the lines of the child's log that contain text.
func (c *child) linesWith(text string) []string {
	var out []string
	for _, l := range strings.Split(c.log(), "\n") {
		if strings.Contains(l, text) {
			out = append(out, l)
		}
	}
	return out
}

// tail is the last n lines of the child's log, indented.
func (c *child) tail(n int) string {
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return fmt.Sprintf("  (cannot read %s: %v)", c.logPath, err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  ")
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.String()
}
