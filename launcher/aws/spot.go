package aws

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// spotProductDescriptions are the Linux spot markets; VPC and EC2-Classic
// were separate markets once and EC2 still reports either.
var spotProductDescriptions = []string{"Linux/UNIX", "Linux/UNIX (Amazon VPC)"}

// describeSpotPrices returns the current spot price of every type in every
// zone, by type and zone. Asking for the history from now on yields the
// price in force now, one entry per type, zone and product; the newest wins.
func describeSpotPrices(ctx context.Context, client EC2API, now time.Time) (map[string]map[string]float64, error) {
	pages := ec2.NewDescribeSpotPriceHistoryPaginator(client, &ec2.DescribeSpotPriceHistoryInput{
		ProductDescriptions: spotProductDescriptions,
		StartTime:           aws.Time(now),
	})
	prices := map[string]map[string]float64{}
	stamps := map[[2]string]time.Time{}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, wrapError("ec2", "DescribeSpotPriceHistory", err)
		}
		for _, p := range page.SpotPriceHistory {
			recordSpotPrice(prices, stamps, p)
		}
	}
	return prices, nil
}

func recordSpotPrice(prices map[string]map[string]float64, stamps map[[2]string]time.Time, p ec2types.SpotPrice) {
	price, err := strconv.ParseFloat(aws.ToString(p.SpotPrice), 64)
	if err != nil || price <= 0 {
		return
	}
	name, zone := string(p.InstanceType), aws.ToString(p.AvailabilityZone)
	key := [2]string{name, zone}
	stamp := aws.ToTime(p.Timestamp)
	if seen, ok := stamps[key]; ok && seen.After(stamp) {
		return
	}
	stamps[key] = stamp
	if prices[name] == nil {
		prices[name] = map[string]float64{}
	}
	prices[name][zone] = price
}
