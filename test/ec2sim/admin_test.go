package ec2sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// admin calls the admin endpoint and decodes its JSON answer into out.
func admin(t *testing.T, s *Simulator, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s answered %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// TestAdminEndpoint drives faults, events and the clock over HTTP, as the
// README's curl examples do.
func TestAdminEndpoint(t *testing.T) {
	s := startSim(t, Options{QueueName: "interruptions"})

	var f Faults
	if code := admin(t, s, http.MethodPut, "/_sim/faults",
		`{"insufficientCapacity":[{"instanceType":"m5.large","zone":"us-east-1a","capacityType":"spot"}],"throttleRate":0.25}`, &f); code != http.StatusOK {
		t.Fatalf("PUT /_sim/faults: %d", code)
	}
	if len(f.InsufficientCapacity) != 1 || f.ThrottleRate != 0.25 || !s.faults.insufficientCapacity("m5.large", "us-east-1a", "spot") {
		t.Errorf("faults after PUT: %+v", f)
	}
	var errBody map[string]string
	if code := admin(t, s, http.MethodPut, "/_sim/faults", `{"insufficientCapacity":[{"zone":"eu-west-1a"}]}`, &errBody); code != http.StatusBadRequest || errBody["error"] == "" {
		t.Errorf("a fault in an unknown zone: %d %v", code, errBody)
	}
	if code := admin(t, s, http.MethodPut, "/_sim/faults", `{"throttle":1}`, &errBody); code != http.StatusBadRequest {
		t.Errorf("an unknown field: %d", code)
	}
	var cleared Faults
	if code := admin(t, s, http.MethodDelete, "/_sim/faults", "", &cleared); code != http.StatusOK || cleared.ThrottleRate != 0 || len(cleared.InsufficientCapacity) != 0 ||
		s.faults.insufficientCapacity("m5.large", "us-east-1a", "spot") {
		t.Errorf("DELETE /_sim/faults: %d %+v", code, cleared)
	}

	var clock clockJSON
	admin(t, s, http.MethodGet, "/_sim/clock", "", &clock)
	before := clock.Now
	if code := admin(t, s, http.MethodPost, "/_sim/clock/advance", `{"duration":"2m"}`, &clock); code != http.StatusOK || clock.Now.Sub(before) < 2*time.Minute {
		t.Errorf("advancing 2m moved the clock from %v to %v (%d)", before, clock.Now, code)
	}
	if code := admin(t, s, http.MethodPut, "/_sim/clock", `{"scale":60}`, &clock); code != http.StatusOK || clock.Scale != 60 {
		t.Errorf("PUT /_sim/clock: %d %+v", code, clock)
	}
	if code := admin(t, s, http.MethodPost, "/_sim/clock/advance", `{"duration":"-1m"}`, &errBody); code != http.StatusBadRequest {
		t.Errorf("moving the clock back: %d", code)
	}

	id := launchSpot(t, s)
	var instances []InstanceInfo
	admin(t, s, http.MethodGet, "/_sim/instances", "", &instances)
	if len(instances) != 1 || instances[0].ID != id || instances[0].CapacityType != "spot" {
		t.Fatalf("GET /_sim/instances: %+v", instances)
	}
	var e Event
	if code := admin(t, s, http.MethodPost, "/_sim/events", `{"kind":"rebalance-recommendation","instanceId":"`+id+`"}`, &e); code != http.StatusAccepted {
		t.Fatalf("POST /_sim/events: %d", code)
	}
	if got := nextEvent(t, s); got.DetailType != detailTypeRebalance {
		t.Errorf("the injected event arrived as %q", got.DetailType)
	}
	if code := admin(t, s, http.MethodPost, "/_sim/events", `{"kind":"spot-interruption","instanceId":"i-0123456789abcdef0"}`, &errBody); code != http.StatusBadRequest {
		t.Errorf("an event for an unknown instance: %d", code)
	}
	if code := admin(t, s, http.MethodGet, "/_sim/nothing", "", &errBody); code != http.StatusNotFound {
		t.Errorf("an unknown admin path: %d", code)
	}
}
