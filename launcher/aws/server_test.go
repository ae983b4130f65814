package aws

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// fakeAWS answers EC2 Query and Pricing JSON requests with the recorded
// responses in testdata: <Action>.xml for the first page of an EC2 call,
// <Action>-<NextToken>.xml for the next ones, GetProducts[-<NextToken>].json
// for Pricing. It counts the calls, and can answer an action with EC2's
// throttling error a number of times before it answers normally.
type fakeAWS struct {
	t *testing.T

	mu       sync.Mutex
	calls    map[string]int
	throttle map[string]int
	// operations are the distinct invocations of each action: the SDK
	// sends the same invocation id with every attempt of one call, so a
	// retry after a dropped connection is not a second read.
	operations map[string]map[string]bool
}

func newFakeAWS(t *testing.T) (*fakeAWS, *httptest.Server) {
	f := &fakeAWS{t: t, calls: map[string]int{}, throttle: map[string]int{}, operations: map[string]map[string]bool{}}
	server := httptest.NewServer(f)
	t.Cleanup(server.Close)
	return f, server
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		f.servePricing(w, r, target)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	action := r.PostForm.Get("Action")
	f.mu.Lock()
	f.calls[action]++
	f.invoked(action, r)
	throttled := f.throttle[action] > 0
	if throttled {
		f.throttle[action]--
	}
	f.mu.Unlock()

	if throttled {
		f.serveFile(w, http.StatusServiceUnavailable, "text/xml", "RequestLimitExceeded.xml")
		return
	}
	file := action + ".xml"
	if token := r.PostForm.Get("NextToken"); token != "" {
		file = action + "-" + token + ".xml"
	}
	f.serveFile(w, http.StatusOK, "text/xml;charset=UTF-8", file)
}

func (f *fakeAWS) servePricing(w http.ResponseWriter, r *http.Request, target string) {
	if target != "AWSPriceListService.GetProducts" {
		http.Error(w, "unexpected target "+target, http.StatusBadRequest)
		return
	}
	var input struct {
		ServiceCode string
		NextToken   string
		Filters     []struct{ Field, Type, Value string }
	}
	if err := json.NewDecoder(r.Body).Decode(&input); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if input.ServiceCode != "AmazonEC2" {
		f.t.Errorf("GetProducts for service %q", input.ServiceCode)
	}
	f.mu.Lock()
	f.calls["GetProducts"]++
	f.invoked("GetProducts", r)
	f.mu.Unlock()
	file := "GetProducts.json"
	if input.NextToken != "" {
		file = "GetProducts-" + input.NextToken + ".json"
	}
	f.serveFile(w, http.StatusOK, "application/x-amz-json-1.1", file)
}

func (f *fakeAWS) serveFile(w http.ResponseWriter, status int, contentType, file string) {
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		f.t.Errorf("no recorded response %s", file)
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// invoked records a request's invocation of action; f.mu is held.
func (f *fakeAWS) invoked(action string, r *http.Request) {
	if f.operations[action] == nil {
		f.operations[action] = map[string]bool{}
	}
	f.operations[action][r.Header.Get("Amz-Sdk-Invocation-Id")] = true
}

// operationCount is how many calls of action the SDK made, however many
// attempts each took.
func (f *fakeAWS) operationCount(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.operations[action])
}

func (f *fakeAWS) callCount(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[action]
}

func (f *fakeAWS) throttleNext(action string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle[action] = times
}

// testConfig is an SDK configuration with static credentials and the
// standard retryer without its backoff delays, so that retries happen as in
// production, only without waiting.
func testConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTAILORTEST", "secret", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}
