package ec2sim

import (
	"errors"
	"fmt"
	"net/http"
)

// apiError is an error as an AWS API reports it: an HTTP status, a code that
// SDKs map to typed errors, and a message for people. Each protocol writes it
// in its own shape (xml.go, json.go).
type apiError struct {
	Status  int
	Code    string
	Message string
	// QueryCode is the code that awsQuery-compatible JSON services (SQS)
	// report in the x-amzn-query-error header; empty when it equals Code.
	QueryCode string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// sender reports whether the caller is at fault (4xx), the Type of an
// awsQuery error.
func (e *apiError) sender() bool {
	return e.Status < 500
}

func clientError(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func errMissingParameter(name string) *apiError {
	return clientError("MissingParameter", "The request must contain the parameter %s", name)
}

func errInvalidParameterValue(name, value, reason string) *apiError {
	return clientError("InvalidParameterValue", "Value (%s) for parameter %s is invalid. %s", value, name, reason)
}

func errInternal(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Code: "InternalError", Message: "An internal error has occurred: " + err.Error()}
}

// asAPIError passes an apiError (or one wrapped) through and turns anything
// else into an InternalError: handlers return apiErrors for everything the
// caller did wrong.
func asAPIError(err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	return errInternal(err)
}
