package awserr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"

	launcheraws "github.com/tailor-project/tailor/launcher/aws"
)

func apiError(code string) error {
	return fmt.Errorf("operation failed: %w", &smithy.GenericAPIError{Code: code, Message: "m"})
}

func TestClassify(t *testing.T) {
	tests := []struct {
		code                                 string
		notFound, exists, throttle, mismatch bool
	}{
		{code: "InvalidInstanceID.NotFound", notFound: true},
		{code: "InvalidLaunchTemplateName.NotFoundException", notFound: true},
		{code: "NoSuchEntity", notFound: true},
		{code: "ParameterNotFound", notFound: true},
		{code: "EntityAlreadyExists", exists: true},
		{code: "InvalidLaunchTemplateName.AlreadyExistsException", exists: true},
		{code: "RequestLimitExceeded", throttle: true},
		{code: "Throttling", throttle: true},
		{code: "IdempotentParameterMismatch", mismatch: true},
		{code: "UnauthorizedOperation"},
	}
	for _, tc := range tests {
		err := Wrap("ec2", "Op", apiError(tc.code))
		if Code(err) != tc.code || IsNotFound(err) != tc.notFound || IsAlreadyExists(err) != tc.exists ||
			IsThrottling(err) != tc.throttle || IsIdempotentParameterMismatch(err) != tc.mismatch {
			t.Errorf("%s: code %q notFound %v exists %v throttle %v mismatch %v", tc.code, Code(err), IsNotFound(err), IsAlreadyExists(err), IsThrottling(err), IsIdempotentParameterMismatch(err))
		}
	}
	if Wrap("ec2", "Op", nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
	var wrapped *launcheraws.APIError
	if err := Wrap("ec2", "DescribeInstances", errors.New("dial tcp: refused")); !errors.As(err, &wrapped) || wrapped.Operation != "DescribeInstances" || Code(err) != "" {
		t.Errorf("Wrap of a transport error: %v", err)
	}
}

func TestIsCapacityCode(t *testing.T) {
	for code, want := range map[string]bool{
		"InsufficientInstanceCapacity": true, "MaxSpotInstanceCountExceeded": true, "Unsupported": true,
		"InvalidParameterValue": false, "InvalidLaunchTemplateId.NotFound": false,
	} {
		if IsCapacityCode(code) != want {
			t.Errorf("IsCapacityCode(%s) = %v", code, !want)
		}
	}
}
