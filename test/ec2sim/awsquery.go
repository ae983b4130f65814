package ec2sim

import (
	"context"
	"net/http"
)

// queryHandler answers one awsQuery action; a nil result writes no
// <ActionResult> element, as for actions without output.
type queryHandler func(ctx context.Context, p params) (result any, err error)

// queryProtocol serves an API of the awsQuery protocol (IAM, STS):
// form-encoded requests naming an Action and Version, XML responses wrapped in
// <ActionResponse><ActionResult>, and errors in <ErrorResponse><Error>.
type queryProtocol struct {
	namespace string
	version   string
	actions   map[string]queryHandler
}

func (q *queryProtocol) serve(w http.ResponseWriter, r *http.Request, requestID string) string {
	p, err := readParams(r)
	if err != nil {
		writeQueryError(w, q.namespace, requestID, asAPIError(err))
		return ""
	}
	action := p.String("Action")
	handler, ok := q.actions[action]
	switch {
	case action == "":
		err = &apiError{Status: http.StatusBadRequest, Code: "MissingAction", Message: "Missing Action"}
	case !ok:
		err = &apiError{Status: http.StatusBadRequest, Code: "InvalidAction", Message: "Could not find operation " + action + " for version " + q.version}
	case p.String("Version") != q.version:
		err = &apiError{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: "Unsupported API version " + p.String("Version")}
	}
	var result any
	if err == nil {
		result, err = handler(r.Context(), p)
	}
	if err != nil {
		writeQueryError(w, q.namespace, requestID, asAPIError(err))
		return action
	}
	writeQuery(w, q.namespace, action, requestID, result)
	return action
}
