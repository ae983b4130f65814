package ec2sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// awsService is one AWS API on the shared endpoint.
type awsService interface {
	// serve answers a request and returns the name of the operation, for
	// the request log.
	serve(w http.ResponseWriter, r *http.Request, requestID string) (operation string)
}

// server routes requests: /_sim/ to the admin endpoint, everything else to
// the AWS API that the request's SigV4 credential scope names, so that one
// endpoint URL serves every SDK client.
type server struct {
	log      logr.Logger
	ids      *ids
	services map[string]awsService
	admin    http.Handler
}

func newServer(s *Simulator) *server {
	return &server{
		log: s.log,
		ids: s.ids,
		services: map[string]awsService{
			"ec2":     newEC2API(s),
			"sqs":     newSQSAPI(s.queues),
			"ssm":     newSSMAPI(s),
			"pricing": newPricingAPI(s),
			"iam":     newIAMAPI(s),
			"sts":     newSTSAPI(s),
		},
		admin: newAdmin(s),
	}
}

func (srv *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		srv.admin.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	requestID := srv.ids.uuid()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	name, operation := signingService(r), ""
	defer func() {
		if p := recover(); p != nil {
			srv.log.Error(fmt.Errorf("%v", p), "Request handler panicked", "service", name, "operation", operation, "requestID", requestID)
			if !rec.wrote {
				writeUnrouted(rec, r, requestID, errInternal(fmt.Errorf("the simulator failed: %v", p)))
			}
		}
		// Only the request's coordinates are logged: bodies may hold user
		// data, and headers hold credentials.
		srv.log.V(1).Info("Request", "service", name, "operation", operation, "status", rec.status,
			"requestID", requestID, "duration", time.Since(start).Round(time.Microsecond))
	}()
	svc, ok := srv.services[name]
	switch {
	case name == "":
		writeUnrouted(rec, r, requestID, &apiError{Status: http.StatusForbidden, Code: "MissingAuthenticationToken",
			Message: "Request is missing Authentication Token: the simulator routes requests by their SigV4 credential scope"})
	case !ok:
		writeUnrouted(rec, r, requestID, clientError("UnsupportedService", "The EC2 simulator does not serve the %q API", name))
	default:
		operation = svc.serve(rec, r, requestID)
	}
}

// signingService returns the service of the request's SigV4 credential scope,
// <key>/<date>/<region>/<service>/aws4_request, from the Authorization header
// or, for presigned requests, the X-Amz-Credential query parameter.
func signingService(r *http.Request) string {
	credential := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, rest, ok := strings.Cut(auth, "Credential=")
		if !ok {
			return ""
		}
		credential, _, _ = strings.Cut(rest, ",")
	}
	parts := strings.Split(strings.TrimSpace(credential), "/")
	if len(parts) < 5 || parts[len(parts)-1] != "aws4_request" {
		return ""
	}
	return parts[len(parts)-2]
}

// writeUnrouted answers a request that reached no service: in JSON for JSON
// requests, else in the query APIs' XML error shape.
func writeUnrouted(w http.ResponseWriter, r *http.Request, requestID string, e *apiError) {
	if strings.Contains(r.Header.Get("Content-Type"), "json") {
		body, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
		send(w, e.Status, requestID, "application/x-amz-json-1.0", body)
		return
	}
	writeEC2Error(w, requestID, e)
}

// statusRecorder remembers the status of a response for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status, r.wrote = status, true
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}
