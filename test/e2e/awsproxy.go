package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// awsProxy stands between one process and the EC2 simulator. It counts the
// calls the process makes, by service and action, retries included, and can
// act on a call once the simulator has answered it and before the process
// reads the answer: the moment a crash loses what AWS did.
type awsProxy struct {
	target string
	server *httptest.Server
	client *http.Client

	mu        sync.Mutex
	calls     map[string]int
	throttled map[string]int
	// forwarding, when set, is called with each call before it is passed
	// on; it may block, as a slow EC2 would.
	forwarding func(action string)
	// answered, when set, is called with each call's action and status
	// after the simulator answered; if it returns true the answer is
	// dropped, as a killed process never reads it.
	answered func(action string, status int) bool
}

// newAWSProxy serves a proxy of the simulator at target until the test ends.
func newAWSProxy(t *testing.T, target string) *awsProxy {
	t.Helper()
	p := &awsProxy{target: strings.TrimRight(target, "/"), client: &http.Client{}, calls: map[string]int{}, throttled: map[string]int{}}
	p.server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.server.Close)
	return p
}

// URL is what the process takes for the AWS endpoint.
func (p *awsProxy) URL() string { return p.server.URL }

// hopHeaders are for one connection, never passed on.
var hopHeaders = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true}

func (p *awsProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	call := callName(r, body)
	p.mu.Lock()
	forwarding := p.forwarding
	p.mu.Unlock()
	if forwarding != nil {
		forwarding(call)
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range r.Header {
		if !hopHeaders[k] {
			out.Header[k] = vs
		}
	}
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.mu.Lock()
	p.calls[call]++
	// The simulator refuses a call for the request rate, and only then,
	// with 503.
	if resp.StatusCode == http.StatusServiceUnavailable {
		p.throttled[call]++
	}
	answered := p.answered
	p.mu.Unlock()
	if answered != nil && answered(call, resp.StatusCode) {
		// The caller is gone; whatever it reads now is not EC2's answer.
		panic(http.ErrAbortHandler)
	}
	for k, vs := range resp.Header {
		if !hopHeaders[k] {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// callName is "service:Action": the service from the signature's scope,
// the action from the query protocol's form or the JSON protocol's target.
func callName(r *http.Request, body []byte) string {
	service := "unknown"
	if auth := r.Header.Get("Authorization"); auth != "" {
		// Credential=AKID/20250101/us-east-1/ec2/aws4_request
		if i := strings.Index(auth, "Credential="); i >= 0 {
			scope := strings.Split(strings.SplitN(auth[i+len("Credential="):], ",", 2)[0], "/")
			if len(scope) == 5 {
				service = scope[3]
			}
		}
	}
	action := ""
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		action = target[strings.LastIndex(target, ".")+1:]
	} else if form, err := url.ParseQuery(string(body)); err == nil {
		action = form.Get("Action")
	}
	if action == "" {
		action = r.Method + " " + r.URL.Path
	}
	return service + ":" + action
}

// onForwarding sets what happens before each call is passed on; see
// awsProxy.forwarding.
func (p *awsProxy) onForwarding(f func(action string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forwarding = f
}

// onAnswered sets what happens after each answer; see awsProxy.answered.
func (p *awsProxy) onAnswered(f func(action string, status int) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answered = f
}

// callCounts is a copy of the counts so far: every call, and those refused
// for the request rate.
type callCounts struct {
	calls, throttled map[string]int
}

func (p *awsProxy) counts() callCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := callCounts{calls: map[string]int{}, throttled: map[string]int{}}
	for k, v := range p.calls {
		c.calls[k] = v
	}
	for k, v := range p.throttled {
		c.throttled[k] = v
	}
	return c
}

// since is what was counted after an earlier copy.
func (c callCounts) since(before callCounts) callCounts {
	out := callCounts{calls: map[string]int{}, throttled: map[string]int{}}
	for k, v := range c.calls {
		if d := v - before.calls[k]; d > 0 {
			out.calls[k] = d
		}
	}
	for k, v := range c.throttled {
		if d := v - before.throttled[k]; d > 0 {
			out.throttled[k] = d
		}
	}
	return out
}

// service sums the calls and the refused calls of one service.
func (c callCounts) service(name string) (calls, throttled int) {
	for k, v := range c.calls {
		if strings.HasPrefix(k, name+":") {
			calls += v
		}
	}
	for k, v := range c.throttled {
		if strings.HasPrefix(k, name+":") {
			throttled += v
		}
	}
	return calls, throttled
}

// String lists the calls by count, for logs.
func (c callCounts) String() string {
	keys := make([]string, 0, len(c.calls))
	for k := range c.calls {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c.calls[keys[i]] != c.calls[keys[j]] {
			return c.calls[keys[i]] > c.calls[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, c.calls[k])
		if n := c.throttled[k]; n > 0 {
			parts[i] += fmt.Sprintf("(%d throttled)", n)
		}
	}
	return strings.Join(parts, " ")
}
