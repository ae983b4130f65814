package interruption

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParse reads every kind as EventBridge delivers it, the events that
// ask nothing, and bodies that are not events, whose errors must quote
// nothing of them.
func TestParse(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		body string
		want Message
		// wantErr is a fragment of the error; secret must not be in it.
		wantErr string
	}{
		{
			name: "spot interruption warning",
			body: `{"version":"0","id":"1e5527d7-bb36-4607-3370-4164db56a40e","detail-type":"EC2 Spot Instance Interruption Warning",
				"source":"aws.ec2","account":"123456789012","time":"2026-03-02T10:00:00Z","region":"us-east-1",
				"resources":["arn:aws:ec2:us-east-1b:instance/i-0b662ef9931388ba0"],
				"detail":{"instance-id":"i-0b662ef9931388ba0","instance-action":"terminate"}}`,
			want: Message{ID: "1e5527d7-bb36-4607-3370-4164db56a40e", Kind: KindSpotInterruption,
				InstanceIDs: []string{"i-0b662ef9931388ba0"}, Time: at, Deadline: at.Add(2 * time.Minute)},
		},
		{
			name: "rebalance recommendation",
			body: `{"id":"r1","detail-type":"EC2 Instance Rebalance Recommendation","source":"aws.ec2","time":"2026-03-02T10:00:00Z",
				"detail":{"instance-id":"i-1234567890abcdef0"}}`,
			want: Message{ID: "r1", Kind: KindRebalanceRecommendation, InstanceIDs: []string{"i-1234567890abcdef0"}, Time: at},
		},
		{
			name: "state change to stopping",
			body: `{"id":"s1","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","time":"2026-03-02T10:00:00Z",
				"detail":{"instance-id":"i-1234567890abcdef0","state":"stopping"}}`,
			want: Message{ID: "s1", Kind: KindStateChange, InstanceIDs: []string{"i-1234567890abcdef0"}, Time: at, State: "stopping"},
		},
		{
			name: "state change to terminated",
			body: `{"id":"s2","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","time":"2026-03-02T10:00:00Z",
				"detail":{"instance-id":"i-1234567890abcdef0","state":"terminated"}}`,
			want: Message{ID: "s2", Kind: KindStateChange, InstanceIDs: []string{"i-1234567890abcdef0"}, Time: at, State: "terminated"},
		},
		{
			name: "state change to running asks nothing",
			body: `{"id":"s3","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","time":"2026-03-02T10:00:00Z",
				"detail":{"instance-id":"i-1234567890abcdef0","state":"running"}}`,
			want: Message{ID: "s3", Kind: KindNoOp, InstanceIDs: []string{"i-1234567890abcdef0"}, Time: at, State: "running"},
		},
		{
			name: "scheduled change of two instances and a volume",
			body: `{"id":"h1","detail-type":"AWS Health Event","source":"aws.health","time":"2026-03-02T10:00:00Z",
				"detail":{"eventArn":"arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/x","service":"EC2",
				"eventTypeCode":"AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED","eventTypeCategory":"scheduledChange",
				"affectedEntities":[{"entityValue":"i-1234567890abcdef0"},{"entityValue":"vol-0123456789abcdef0"},{"entityValue":"i-0fedcba9876543210"}]}}`,
			want: Message{ID: "h1", Kind: KindScheduledChange, InstanceIDs: []string{"i-1234567890abcdef0", "i-0fedcba9876543210"}, Time: at},
		},
		{
			name: "health event of another category asks nothing",
			body: `{"id":"h2","detail-type":"AWS Health Event","source":"aws.health","time":"2026-03-02T10:00:00Z",
				"detail":{"service":"EC2","eventTypeCategory":"issue","affectedEntities":[{"entityValue":"i-1234567890abcdef0"}]}}`,
			want: Message{ID: "h2", Kind: KindNoOp, Time: at},
		},
		{
			name: "health event of another service asks nothing",
			body: `{"id":"h3","detail-type":"AWS Health Event","source":"aws.health","time":"2026-03-02T10:00:00Z",
				"detail":{"service":"RDS","eventTypeCategory":"scheduledChange","affectedEntities":[{"entityValue":"db-1"}]}}`,
			want: Message{ID: "h3", Kind: KindNoOp, Time: at},
		},
		{
			name: "an event the rules do not forward asks nothing",
			body: `{"id":"o1","detail-type":"EC2 AMI State Change","source":"aws.ec2","time":"2026-03-02T10:00:00Z","detail":{"ImageId":"ami-1"}}`,
			want: Message{ID: "o1", Kind: KindNoOp, Time: at},
		},
		{name: "not JSON", body: `secret-token-1234 {`, wantErr: "invalid JSON at byte"},
		{name: "JSON but no event", body: `{"hello":"secret-token-1234"}`, wantErr: "no source or detail-type"},
		{name: "time not RFC 3339", body: `{"id":"x","detail-type":"EC2 Instance Rebalance Recommendation","source":"aws.ec2","time":"secret-token-1234","detail":{"instance-id":"i-1234567890abcdef0"}}`, wantErr: "not RFC 3339"},
		{
			name:    "spot warning without an instance",
			body:    `{"id":"x","detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2","detail":{"instance-id":"secret-token-1234","instance-action":"terminate"}}`,
			wantErr: "its instance id is not an EC2 instance id",
		},
		{
			name:    "spot warning without a detail",
			body:    `{"id":"x","detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2"}`,
			wantErr: "without a detail",
		},
		{
			name:    "instance id of the wrong type",
			body:    `{"id":"x","detail-type":"EC2 Instance Rebalance Recommendation","source":"aws.ec2","detail":{"instance-id":12345}}`,
			wantErr: `field "instance-id" is a JSON number`,
		},
		{
			name:    "state that is no state",
			body:    `{"id":"x","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"instance-id":"i-1234567890abcdef0","state":"secret-token-1234"}}`,
			wantErr: "its state is not an instance state",
		},
		{
			name:    "scheduled change of no instance",
			body:    `{"id":"x","detail-type":"AWS Health Event","source":"aws.health","detail":{"service":"EC2","eventTypeCategory":"scheduledChange","affectedEntities":[]}}`,
			wantErr: "affects no instance",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.body)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, errUnparseable) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse: %v, want an unparseable error with %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret-token") {
					t.Errorf("the error quotes the body: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.ID != tc.want.ID || got.Kind != tc.want.Kind || !slices.Equal(got.InstanceIDs, tc.want.InstanceIDs) ||
				!got.Time.Equal(tc.want.Time) || got.State != tc.want.State || !got.Deadline.Equal(tc.want.Deadline) {
				t.Errorf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
}
