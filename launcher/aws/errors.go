package aws

import (
	"errors"
	"fmt"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// APIError is a failed AWS call, with what is needed to trace it in AWS's
// logs or the simulator's: the service, the operation and the request id.
type APIError struct {
	Service   string
	Operation string
	// RequestID is empty when no response came back (the endpoint could not
	// be reached).
	RequestID string
	Err       error
}

func (e *APIError) Error() string {
	requestID := e.RequestID
	if requestID == "" {
		requestID = "none"
	}
	return fmt.Sprintf("%s %s (request id %s): %v", e.Service, e.Operation, requestID, e.Err)
}

func (e *APIError) Unwrap() error { return e.Err }

// wrapError wraps an SDK error as an APIError; nil stays nil.
func wrapError(service, operation string, err error) error {
	if err == nil {
		return nil
	}
	apiErr := &APIError{Service: service, Operation: operation, Err: err}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		apiErr.RequestID = respErr.ServiceRequestID()
	}
	return apiErr
}
