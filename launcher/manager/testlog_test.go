package manager_test

import (
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	ctrl "sigs.k8s.io/controller-runtime"
)

// testLogs routes the logs of the launcher, the simulator and
// controller-runtime to the test that runs now. controller-runtime's logger
// is process-wide and takes only the first ctrl.SetLogger, so a logger bound
// to one *testing.T would receive the next test's lines too; and a line
// written to a test that has completed panics ("Log in goroutine after ...
// has completed"), which a goroutine still winding down after the manager
// stopped can do. Between tests, lines are dropped.
var testLogs = &runningTest{}

// setLogger points controller-runtime at testLogs, once per process.
var setLogger = sync.OnceFunc(func() { ctrl.SetLogger(logr.New(testSink{to: testLogs})) })

// runningTest holds the sink of the test that runs now, nil between tests.
type runningTest struct {
	// mu is held for reading while a line is written, so that once
	// logTo(nil) returns no line reaches the test it replaced.
	mu   sync.RWMutex
	sink logr.LogSink
}

// logTo sends the logs to t until the test ends; its cleanup, registered
// before anything that logs, runs after all of it has stopped.
func (r *runningTest) logTo(t *testing.T) logr.Logger {
	setLogger()
	r.mu.Lock()
	r.sink = testr.New(t).GetSink()
	r.mu.Unlock()
	t.Cleanup(func() {
		r.mu.Lock()
		r.sink = nil
		r.mu.Unlock()
	})
	return logr.New(testSink{to: r})
}

// testSink is a LogSink that writes to whichever test runs when a line is
// logged, with the names and values it was derived with.
type testSink struct {
	to *runningTest
	// derive applies WithName and WithValues, in order, to the test's sink.
	derive []func(logr.LogSink) logr.LogSink
}

func (s testSink) Init(logr.RuntimeInfo) {}

// with returns the sink after one more derivation; the slice is copied, as
// sibling loggers share their parent's.
func (s testSink) with(d func(logr.LogSink) logr.LogSink) testSink {
	derive := make([]func(logr.LogSink) logr.LogSink, len(s.derive), len(s.derive)+1)
	copy(derive, s.derive)
	return testSink{to: s.to, derive: append(derive, d)}
}

// write calls log with the running test's sink, if a test runs.
func (s testSink) write(log func(logr.LogSink)) {
	s.to.mu.RLock()
	defer s.to.mu.RUnlock()
	if s.to.sink == nil {
		return
	}
	sink := s.to.sink
	for _, d := range s.derive {
		sink = d(sink)
	}
	log(sink)
}

func (s testSink) Enabled(level int) bool {
	enabled := false
	s.write(func(sink logr.LogSink) { enabled = sink.Enabled(level) })
	return enabled
}

func (s testSink) Info(level int, msg string, kv ...any) {
	s.write(func(sink logr.LogSink) { sink.Info(level, msg, kv...) })
}

func (s testSink) Error(err error, msg string, kv ...any) {
	s.write(func(sink logr.LogSink) { sink.Error(err, msg, kv...) })
}

func (s testSink) WithValues(kv ...any) logr.LogSink {
	return s.with(func(sink logr.LogSink) logr.LogSink { return sink.WithValues(kv...) })
}

func (s testSink) WithName(name string) logr.LogSink {
	return s.with(func(sink logr.LogSink) logr.LogSink { return sink.WithName(name) })
}
