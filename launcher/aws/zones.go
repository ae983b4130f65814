package aws

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// zoneOfferings are the zones of the region and the types each offers.
type zoneOfferings struct {
	zones   []catalog.Zone
	offered map[string]sets.Set[string]
}

func describeZoneOfferings(ctx context.Context, client EC2API) (zoneOfferings, error) {
	zones, err := describeZones(ctx, client)
	if err != nil {
		return zoneOfferings{}, err
	}
	offered, err := describeOfferings(ctx, client)
	if err != nil {
		return zoneOfferings{}, err
	}
	return zoneOfferings{zones: zones, offered: offered}, nil
}

// describeZones lists the zones instances can be launched in now: available,
// and opted in where the zone needs it (Local Zones).
func describeZones(ctx context.Context, client EC2API) ([]catalog.Zone, error) {
	out, err := client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		return nil, wrapError("ec2", "DescribeAvailabilityZones", err)
	}
	var zones []catalog.Zone
	for _, z := range out.AvailabilityZones {
		if z.State != ec2types.AvailabilityZoneStateAvailable || z.OptInStatus == ec2types.AvailabilityZoneOptInStatusNotOptedIn {
			continue
		}
		zones = append(zones, catalog.Zone{Name: aws.ToString(z.ZoneName), ID: aws.ToString(z.ZoneId)})
	}
	slices.SortFunc(zones, func(a, b catalog.Zone) int { return strings.Compare(a.Name, b.Name) })
	return zones, nil
}

// describeOfferings maps each instance type to the zones that offer it.
func describeOfferings(ctx context.Context, client EC2API) (map[string]sets.Set[string], error) {
	pages := ec2.NewDescribeInstanceTypeOfferingsPaginator(client, &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: ec2types.LocationTypeAvailabilityZone,
	})
	offered := map[string]sets.Set[string]{}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, wrapError("ec2", "DescribeInstanceTypeOfferings", err)
		}
		for _, o := range page.InstanceTypeOfferings {
			name := string(o.InstanceType)
			if offered[name] == nil {
				offered[name] = sets.New[string]()
			}
			offered[name].Insert(aws.ToString(o.Location))
		}
	}
	return offered, nil
}
