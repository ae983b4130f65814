package ec2sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Simulator is a simulated AWS account behind one HTTP endpoint. Create it
// with New, serve it with Start, and point SDK clients at URL.
type Simulator struct {
	opts     Options
	log      logr.Logger
	clock    *Clock
	timeline *timeline
	ids      *ids
	world    *world
	faults   *faultSet
	queues   *queues
	kubelet  *kubelet
	handler  http.Handler

	mu      sync.Mutex
	url     string
	server  *http.Server
	cancel  context.CancelFunc
	running sync.WaitGroup
}

// New builds a simulator and its seeded world; nothing runs until Start.
func New(opts Options) (*Simulator, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("configuring the EC2 simulator: %w", err)
	}
	clock, err := NewClock(opts.ClockScale)
	if err != nil {
		return nil, err
	}
	g := newIDs(opts.Seed)
	w, err := newWorld(opts.AccountID, opts.ClusterName)
	if err != nil {
		return nil, fmt.Errorf("seeding the EC2 simulator: %w", err)
	}
	s := &Simulator{
		opts:     opts,
		log:      opts.Log,
		clock:    clock,
		timeline: newTimeline(clock),
		ids:      g,
		world:    w,
		faults:   newFaultSet(opts.Faults, g),
	}
	s.queues = newQueues(s.clock, s.timeline, g, opts.AccountID)
	if opts.KubeConfig != nil {
		if s.kubelet, err = newKubelet(opts.KubeConfig, s, opts.Log.WithName("kubelet")); err != nil {
			return nil, err
		}
	}
	s.handler = newServer(s)
	return s, nil
}

// Start listens on addr ("127.0.0.1:0" for any free port), creates the event
// queue, and serves until ctx ends or Stop is called. It returns once the
// endpoint accepts connections.
func (s *Simulator) Start(ctx context.Context, addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.server != nil {
		return errors.New("the EC2 simulator is already started")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	s.url = "http://" + l.Addr().String()
	s.queues.setEndpoint(s.url)
	if s.opts.QueueName != "" {
		if _, err := s.queues.create(s.opts.QueueName, nil); err != nil {
			l.Close()
			return fmt.Errorf("creating the event queue: %w", asAPIError(err))
		}
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.server = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	s.running.Add(2)
	go func() {
		defer s.running.Done()
		if err := s.server.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error(err, "Serving the EC2 simulator failed")
		}
	}()
	go func() {
		defer s.running.Done()
		s.timeline.run(ctx)
	}()
	if s.kubelet != nil {
		s.running.Add(1)
		go func() {
			defer s.running.Done()
			s.kubelet.run(ctx)
		}()
	}
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		<-ctx.Done()
		// Requests in flight (long polls) end with ctx, which is their
		// base context; Shutdown waits for them to be answered.
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.server.Shutdown(shutdown)
	}()
	s.log.Info("EC2 simulator serving", "url", s.url, "cluster", s.opts.ClusterName, "queue", s.opts.QueueName)
	return nil
}

// Stop ends serving and waits until the simulator's goroutines and the
// requests in flight have returned. Instances and their Nodes are left as
// they are.
func (s *Simulator) Stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.running.Wait()
}

// URL is the endpoint to give SDK clients (BaseEndpoint, AWS_ENDPOINT_URL).
func (s *Simulator) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// QueueURL is the URL of the event queue, empty when Options.QueueName is.
func (s *Simulator) QueueURL() string {
	if s.opts.QueueName == "" {
		return ""
	}
	return s.queues.urlOf(s.opts.QueueName)
}

// Clock is the simulator's time, which tests speed up or advance.
func (s *Simulator) Clock() *Clock {
	return s.clock
}

// ClusterName is the cluster the simulated account's nodes join.
func (s *Simulator) ClusterName() string {
	return s.opts.ClusterName
}

// Faults returns the faults in effect.
func (s *Simulator) Faults() Faults {
	return s.faults.get()
}

// SetFaults replaces the faults in effect; instances already launched keep
// whether they will join.
func (s *Simulator) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.faults.set(f)
	s.log.Info("Faults changed", "faults", f.String())
	return nil
}
