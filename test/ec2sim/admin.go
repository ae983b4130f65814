package ec2sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// adminPrefix is the path of the admin endpoint, which no AWS API uses.
const adminPrefix = "/_sim/"

// InstanceInfo is what the admin endpoint tells about an instance.
type InstanceInfo struct {
	ID             string    `json:"instanceId"`
	InstanceType   string    `json:"instanceType"`
	Zone           string    `json:"zone"`
	CapacityType   string    `json:"capacityType"`
	State          string    `json:"state"`
	PrivateDNSName string    `json:"privateDnsName"`
	LaunchTime     time.Time `json:"launchTime"`
	// Joins is true once the instance has read its user data and its Node
	// is (or was) registered.
	Joins bool `json:"joins"`
	// VolumeTags are the tags its launch gave its volumes. The simulator has
	// no DescribeVolumes, so this is where a test finds them; every volume of
	// the instance has them.
	VolumeTags map[string]string `json:"volumeTags,omitempty"`
	// CapacityReservationID is the reservation the instance runs in, if any.
	CapacityReservationID string `json:"capacityReservationID,omitempty"`
	// NodeCapacity is the capacity its kubelet reports, or would report
	// with no cluster attached, as its user data configures it: how a test
	// sees what the launch asked of the node. Nil when the user data is
	// unreadable.
	NodeCapacity corev1.ResourceList `json:"nodeCapacity,omitempty"`
}

// Instances lists the instances of the simulated account, terminated ones
// included until EC2 would forget them, ordered by id.
func (s *Simulator) Instances() []InstanceInfo {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	all, _ := s.instancesLocked(nil)
	out := make([]InstanceInfo, 0, len(all))
	for _, inst := range all {
		out = append(out, InstanceInfo{
			ID: inst.ID, InstanceType: inst.Type.Name, Zone: inst.Zone.Name, CapacityType: inst.capacityType(),
			State: inst.State.Name, PrivateDNSName: inst.privateDNSName(), LaunchTime: inst.LaunchTime, Joins: inst.boot != nil,
			VolumeTags: withTags(inst.VolumeTags, nil), NodeCapacity: s.wouldReport(inst),
			CapacityReservationID: inst.CapacityReservationID,
		})
	}
	return out
}

// wouldReport is the capacity of the instance's node as its user data
// configures it; nil when the user data cannot be read.
func (s *Simulator) wouldReport(inst *instance) corev1.ResourceList {
	booted := *inst
	if booted.boot == nil {
		boot, err := parseUserData(inst.UserData)
		if err != nil {
			return nil
		}
		booted.boot = boot
	}
	capacity, _ := s.nodeResources(&booted)
	return capacity
}

// clockJSON is the admin endpoint's view of the clock.
type clockJSON struct {
	Now   time.Time `json:"now"`
	Scale float64   `json:"scale"`
}

// newAdmin serves the admin endpoint: JSON over HTTP, for tests and demos.
//
//	GET    /_sim/healthz          ok
//	GET    /_sim/instances        the instances
//	GET    /_sim/faults           the faults in effect
//	PUT    /_sim/faults           replace them (a Faults document)
//	DELETE /_sim/faults           clear them
//	POST   /_sim/events           inject an Event
//	GET    /_sim/clock            the simulated time and its scale
//	PUT    /_sim/clock            set the scale: {"scale": 60}
//	POST   /_sim/clock/advance    jump ahead: {"duration": "2m"}
//	POST   /_sim/amis/releases    publish an AMI release: {"family": "al2023", "version": "v20260105"}
func newAdmin(s *Simulator) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /_sim/instances", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Instances())
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("PUT /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if !readJSON(w, r, &f) {
			return
		}
		if err := s.SetFaults(f); err != nil {
			writeAdminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		_ = s.SetFaults(Faults{})
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /_sim/events", func(w http.ResponseWriter, r *http.Request) {
		var e Event
		if !readJSON(w, r, &e) {
			return
		}
		if err := s.InjectEvent(e); err != nil {
			writeAdminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusAccepted, e)
	})
	mux.HandleFunc("GET /_sim/clock", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, clockJSON{Now: s.clock.Now(), Scale: s.clock.Scale()})
	})
	mux.HandleFunc("PUT /_sim/clock", func(w http.ResponseWriter, r *http.Request) {
		var c struct {
			Scale float64 `json:"scale"`
		}
		if !readJSON(w, r, &c) {
			return
		}
		if err := s.clock.SetScale(c.Scale); err != nil {
			writeAdminError(w, http.StatusBadRequest, err)
			return
		}
		s.log.Info("Clock scale changed", "scale", c.Scale)
		writeJSON(w, http.StatusOK, clockJSON{Now: s.clock.Now(), Scale: s.clock.Scale()})
	})
	mux.HandleFunc("POST /_sim/clock/advance", func(w http.ResponseWriter, r *http.Request) {
		var a struct {
			Duration string `json:"duration"`
		}
		if !readJSON(w, r, &a) {
			return
		}
		d, err := time.ParseDuration(a.Duration)
		if err == nil {
			err = s.clock.Advance(d)
		}
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, fmt.Errorf("advancing the clock: %w", err))
			return
		}
		s.log.Info("Clock advanced", "by", d)
		writeJSON(w, http.StatusOK, clockJSON{Now: s.clock.Now(), Scale: s.clock.Scale()})
	})
	mux.HandleFunc("POST /_sim/amis/releases", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Family  string `json:"family"`
			Version string `json:"version"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		release, err := s.ReleaseAMIs(req.Family, req.Version)
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, fmt.Errorf("publishing an AMI release: %w", err))
			return
		}
		writeJSON(w, http.StatusCreated, release)
	})
	mux.HandleFunc("GET /_sim/capacityreservations", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.CapacityReservations())
	})
	mux.HandleFunc("POST /_sim/capacityreservations", func(w http.ResponseWriter, r *http.Request) {
		var cr CapacityReservation
		if !readJSON(w, r, &cr) {
			return
		}
		stored, err := s.AddCapacityReservation(cr)
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusCreated, stored)
	})
	mux.HandleFunc("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		writeAdminError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeAdminError(w, http.StatusBadRequest, fmt.Errorf("reading the request: %w", err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeAdminError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
