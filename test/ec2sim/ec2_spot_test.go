package ec2sim

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestDescribeSpotPriceHistory: without a window, the price in effect now
// in each zone; with one, a price per hour, newest first; the simulated
// prices lie between 30% and 70% of on-demand.
func TestDescribeSpotPriceHistory(t *testing.T) {
	s := startSim(t, Options{})
	c := ec2Client(s)
	ctx := context.Background()
	now := startOfPriceStep(t, s)
	current, err := c.DescribeSpotPriceHistory(ctx, &ec2.DescribeSpotPriceHistoryInput{
		InstanceTypes:       []ec2types.InstanceType{"m5.large"},
		ProductDescriptions: []string{"Linux/UNIX"},
	})
	if err != nil {
		t.Fatalf("DescribeSpotPriceHistory: %v", err)
	}
	if len(current.SpotPriceHistory) != 3 {
		t.Fatalf("%d current prices for m5.large, want one per zone", len(current.SpotPriceHistory))
	}
	onDemand := s.world.onDemand["m5.large"]
	for _, p := range current.SpotPriceHistory {
		price, err := strconv.ParseFloat(aws.ToString(p.SpotPrice), 64)
		if err != nil {
			t.Fatalf("spot price %q: %v", aws.ToString(p.SpotPrice), err)
		}
		if price < 0.3*onDemand || price > 0.7*onDemand {
			t.Errorf("spot price %v in %s is outside [30%%, 70%%] of on-demand %v", price, aws.ToString(p.AvailabilityZone), onDemand)
		}
		if !p.Timestamp.Equal(now.Truncate(spotPriceStep)) || aws.ToString(p.AvailabilityZoneId) == "" {
			t.Errorf("current price stamped %v (want %v), zone id %q", p.Timestamp, now.Truncate(spotPriceStep), aws.ToString(p.AvailabilityZoneId))
		}
	}

	history, err := c.DescribeSpotPriceHistory(ctx, &ec2.DescribeSpotPriceHistoryInput{
		InstanceTypes:       []ec2types.InstanceType{"m5.large"},
		AvailabilityZone:    aws.String("us-east-1a"),
		ProductDescriptions: []string{"Linux/UNIX"},
		StartTime:           aws.Time(now.Add(-5 * time.Hour)),
	})
	if err != nil {
		t.Fatalf("DescribeSpotPriceHistory with a window: %v", err)
	}
	if len(history.SpotPriceHistory) != 6 {
		t.Fatalf("%d prices over five hours, want 6", len(history.SpotPriceHistory))
	}
	for i := 1; i < len(history.SpotPriceHistory); i++ {
		if !history.SpotPriceHistory[i].Timestamp.Before(*history.SpotPriceHistory[i-1].Timestamp) {
			t.Errorf("history is not newest first at %d", i)
		}
	}

	pages, count := 0, 0
	p := ec2.NewDescribeSpotPriceHistoryPaginator(c, &ec2.DescribeSpotPriceHistoryInput{
		Filters:    []ec2types.Filter{{Name: aws.String("instance-type"), Values: []string{"m5.*"}}},
		MaxResults: aws.Int32(20),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		pages++
		count += len(page.SpotPriceHistory)
	}
	m5 := 0
	for _, name := range s.world.typeNames {
		if len(name) > 3 && name[:3] == "m5." {
			m5++
		}
	}
	if want := m5 * 3 * len(spotProductDescriptions); count != want || pages < 2 {
		t.Errorf("paged %d prices in %d pages, want %d over several pages", count, pages, want)
	}
	_, err = c.DescribeSpotPriceHistory(ctx, &ec2.DescribeSpotPriceHistoryInput{StartTime: aws.Time(now), EndTime: aws.Time(now.Add(-time.Hour))})
	wantAPIError(t, err, "InvalidParameterValue")
}
