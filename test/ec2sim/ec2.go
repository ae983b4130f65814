package ec2sim

import (
	"context"
	"net/http"
)

// ec2APIVersion is the only version of the EC2 Query API there is.
const ec2APIVersion = "2016-11-15"

// ec2Handler answers one EC2 action.
type ec2Handler func(ctx context.Context, p params) (ec2Body, error)

// ec2API serves the EC2 Query API (the ec2query protocol): form-encoded
// requests naming an Action, XML responses, and errors in EC2's
// Response>Errors>Error shape.
type ec2API struct {
	sim     *Simulator
	actions map[string]ec2Handler
}

func newEC2API(s *Simulator) *ec2API {
	e := &ec2API{sim: s}
	e.actions = map[string]ec2Handler{
		"RunInstances":                  e.runInstances,
		"CreateFleet":                   e.createFleet,
		"DescribeInstances":             e.describeInstances,
		"TerminateInstances":            e.terminateInstances,
		"CreateTags":                    e.createTags,
		"DescribeInstanceTypes":         e.describeInstanceTypes,
		"DescribeInstanceTypeOfferings": e.describeInstanceTypeOfferings,
		"DescribeAvailabilityZones":     e.describeAvailabilityZones,
		"DescribeSubnets":               e.describeSubnets,
		"DescribeSecurityGroups":        e.describeSecurityGroups,
		"DescribeImages":                e.describeImages,
		"CreateLaunchTemplate":          e.createLaunchTemplate,
		"DescribeLaunchTemplates":       e.describeLaunchTemplates,
		"DeleteLaunchTemplate":          e.deleteLaunchTemplate,
		"DescribeSpotPriceHistory":      e.describeSpotPriceHistory,
		"DescribeCapacityReservations":  e.describeCapacityReservations,
	}
	return e
}

func (e *ec2API) serve(w http.ResponseWriter, r *http.Request, requestID string) string {
	p, err := readParams(r)
	if err != nil {
		writeEC2Error(w, requestID, asAPIError(err))
		return ""
	}
	action := p.String("Action")
	body, err := e.do(r.Context(), action, p)
	if err != nil {
		writeEC2Error(w, requestID, asAPIError(err))
		return action
	}
	writeEC2(w, action, requestID, body)
	return action
}

func (e *ec2API) do(ctx context.Context, action string, p params) (ec2Body, error) {
	if action == "" {
		return nil, clientError("MissingAction", "The request must contain the parameter Action")
	}
	handler, ok := e.actions[action]
	if !ok {
		return nil, clientError("InvalidAction", "The action %s is not valid for this web service.", action)
	}
	if v := p.String("Version"); v != "" && v != ec2APIVersion {
		return nil, clientError("NoSuchVersion", "An invalid or unsupported API version %s was specified", v)
	}
	if e.sim.faults.throttled() {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: "RequestLimitExceeded", Message: "Request limit exceeded."}
	}
	dryRun, err := p.Bool("DryRun")
	if err != nil {
		return nil, err
	}
	if dryRun {
		return nil, &apiError{Status: http.StatusPreconditionFailed, Code: "DryRunOperation", Message: "Request would have succeeded, but DryRun flag is set."}
	}
	return handler(ctx, p)
}
