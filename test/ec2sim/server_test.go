package ec2sim

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// rawRequest posts body to the simulator as a client of service would,
// with a SigV4-shaped Authorization header (the simulator routes by its
// scope and checks no signature).
func rawRequest(t *testing.T, s *Simulator, service, contentType, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if service != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+FakeAccessKeyID+"/20250801/us-east-1/"+service+"/aws4_request, SignedHeaders=host;x-amz-date, Signature=0")
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
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
	return resp.StatusCode, string(data)
}

// TestMalformedRequests: requests the SDK would never send still get an
// error in the service's own shape, with the right code, and never a 500.
func TestMalformedRequests(t *testing.T) {
	s := startSim(t, Options{})
	const form = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, service, contentType, body string
		header                           map[string]string
		wantStatus                       int
		wantCode                         string
	}{
		{"no Action", "ec2", form, "Version=2016-11-15", nil, 400, "MissingAction"},
		{"unknown Action", "ec2", form, "Action=LaunchRocket&Version=2016-11-15", nil, 400, "InvalidAction"},
		{"another API version", "ec2", form, "Action=DescribeInstances&Version=2014-01-01", nil, 400, "NoSuchVersion"},
		{"MaxResults not a number", "ec2", form, "Action=DescribeInstances&Version=2016-11-15&MaxResults=lots", nil, 400, "InvalidParameterValue"},
		{"MaxResults too small", "ec2", form, "Action=DescribeInstances&Version=2016-11-15&MaxResults=2", nil, 400, "InvalidParameterValue"},
		{"a garbled NextToken", "ec2", form, "Action=DescribeInstances&Version=2016-11-15&NextToken=%%%", nil, 400, "InvalidParameterValue"},
		{"a NextToken not ours", "ec2", form, "Action=DescribeSubnets&Version=2016-11-15&NextToken=***", nil, 400, "InvalidPaginationToken"},
		{"RunInstances without counts", "ec2", form, "Action=RunInstances&Version=2016-11-15&ImageId=ami-1", nil, 400, "MissingParameter"},
		{"RunInstances with a count that is not a number", "ec2", form, "Action=RunInstances&Version=2016-11-15&MinCount=one&MaxCount=1", nil, 400, "InvalidParameterValue"},
		{"a filter without a name", "ec2", form, "Action=DescribeInstances&Version=2016-11-15&Filter.1.Value.1=x", nil, 400, "MissingParameter"},
		{"a tag without a key", "ec2", form, "Action=CreateTags&Version=2016-11-15&ResourceId.1=i-0123456789abcdef0&Tag.1.Value=v", nil, 400, "MissingParameter"},
		{"CreateFleet without configs", "ec2", form,
			"Action=CreateFleet&Version=2016-11-15&Type=instant&TargetCapacitySpecification.TotalTargetCapacity=1&TargetCapacitySpecification.DefaultTargetCapacityType=spot", nil, 400, "MissingParameter"},
		{"CreateFleet with a bad boolean", "ec2", form, "Action=CreateFleet&Version=2016-11-15&DryRun=maybe", nil, 400, "InvalidParameterValue"},
		{"unsigned", "", form, "Action=DescribeInstances", nil, 403, "MissingAuthenticationToken"},
		{"a service the simulator does not serve", "s3", form, "", nil, 400, "UnsupportedService"},
		{"IAM without Version", "iam", form, "Action=GetInstanceProfile&InstanceProfileName=x", nil, 400, "InvalidParameterValue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawRequest(t, s, tc.service, tc.contentType, tc.body, tc.header)
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d: %s", status, tc.wantStatus, body)
			}
			// Both XML shapes carry the code in an element named Code.
			var doc struct {
				Code  string `xml:"Errors>Error>Code"`
				Query string `xml:"Error>Code"`
			}
			if err := xml.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("the error is not XML: %v: %s", err, body)
			}
			if got := doc.Code + doc.Query; got != tc.wantCode {
				t.Errorf("code %q, want %q: %s", got, tc.wantCode, body)
			}
		})
	}

	for _, tc := range []struct {
		name, target, body, wantType string
	}{
		{"JSON that does not parse", "AmazonSQS.SendMessage", "{", "com.amazonaws.sqs#SerializationException"},
		{"an unknown operation", "AmazonSQS.PurgeEverything", "{}", "com.amazonaws.sqs#UnknownOperationException"},
		{"SendMessage without a queue", "AmazonSQS.SendMessage", `{"MessageBody":"x"}`, "com.amazonaws.sqs#MissingParameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawRequest(t, s, "sqs", "application/x-amz-json-1.0", tc.body, map[string]string{"X-Amz-Target": tc.target})
			if status != 400 || !strings.Contains(body, `"__type":"`+tc.wantType+`"`) {
				t.Errorf("status %d body %s, want 400 with __type %s", status, body, tc.wantType)
			}
		})
	}
}

// TestThrottling: at a throttle rate of 1 every EC2 call is refused with
// RequestLimitExceeded; once the fault is cleared, none is.
func TestThrottling(t *testing.T) {
	s := startSim(t, Options{Faults: Faults{ThrottleRate: 1}})
	c := ec2Client(s)
	ctx := context.Background()
	_, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	wantAPIError(t, err, "RequestLimitExceeded")
	if err := s.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}); err != nil {
		t.Fatalf("without throttling: %v", err)
	}
}
