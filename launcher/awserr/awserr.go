// Package awserr wraps and classifies the errors of the AWS calls the
// launcher makes. Every error keeps the service, the operation and the
// request id, which is what AWS support (or the simulator's log) needs to
// find the call; and the launcher decides what to do from the error code
// alone: wait out throttling, treat a missing resource as gone, mark an
// offering without capacity unavailable.
package awserr

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	launcheraws "github.com/tailor-project/tailor/launcher/aws"
)

// Wrap returns err as a *launcheraws.APIError naming the call; nil stays nil.
func Wrap(service, operation string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := &launcheraws.APIError{Service: service, Operation: operation, Err: err}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		wrapped.RequestID = respErr.ServiceRequestID()
	}
	return wrapped
}

// Code returns the AWS error code of err ("InvalidInstanceID.NotFound"), or
// "" when err did not come from an AWS API.
func Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// notFoundCodes are the codes, beyond the "*.NotFound" family, that say the
// resource asked for does not exist.
var notFoundCodes = map[string]bool{
	"NoSuchEntity":      true,
	"ParameterNotFound": true,
	"InvalidLaunchTemplateName.NotFoundException": true,
}

// IsNotFound reports whether err says the resource does not exist.
func IsNotFound(err error) bool {
	code := Code(err)
	return strings.HasSuffix(code, ".NotFound") || notFoundCodes[code]
}

// IsAlreadyExists reports whether err says a resource of that name exists,
// which for the launcher means another call (or an earlier run) created it.
func IsAlreadyExists(err error) bool {
	switch Code(err) {
	case "EntityAlreadyExists", "InvalidLaunchTemplateName.AlreadyExistsException":
		return true
	}
	return false
}

// IsThrottling reports whether err says the account is over its request
// rate: the caller should back off, not retry at once.
func IsThrottling(err error) bool {
	if (retry.ThrottleErrorCode{Codes: retry.DefaultThrottleErrorCodes}).IsErrorThrottle(err) == aws.TrueTernary {
		return true
	}
	var quota *retry.MaxAttemptsError
	return errors.As(err, &quota) && IsThrottling(quota.Err)
}

// IsIdempotentParameterMismatch reports whether err says a request reused a
// client token with different parameters: an earlier request with the token
// was already processed.
func IsIdempotentParameterMismatch(err error) bool {
	return Code(err) == "IdempotentParameterMismatch"
}

// capacityCodes are the CreateFleet error codes that say an offering cannot
// be launched now, as opposed to a request that is wrong: there is no
// capacity, the type is not sold in the zone, the account's limit is
// reached, or the subnet has no address left.
var capacityCodes = map[string]bool{
	"InsufficientInstanceCapacity":         true,
	"InsufficientCapacity":                 true,
	"InsufficientHostCapacity":             true,
	"InsufficientReservedInstanceCapacity": true,
	"UnfulfillableCapacity":                true,
	"Unsupported":                          true,
	"MaxSpotInstanceCountExceeded":         true,
	"VcpuLimitExceeded":                    true,
	"SpotMaxPriceTooLow":                   true,
	"InsufficientFreeAddressesInSubnet":    true,
	// A capacity reservation the launch targets is full.
	"ReservationCapacityExceeded": true,
}

// IsCapacityCode reports whether a CreateFleet error code says its offering
// has no capacity now, so that the offering should be skipped for a while.
func IsCapacityCode(code string) bool {
	return capacityCodes[code]
}
