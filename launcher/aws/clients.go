package aws

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
)

// EC2API is the part of the EC2 client the catalog calls.
type EC2API interface {
	ec2.DescribeInstanceTypesAPIClient
	ec2.DescribeInstanceTypeOfferingsAPIClient
	ec2.DescribeSpotPriceHistoryAPIClient
	DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error)
}

// PricingAPI is the part of the Pricing client the catalog calls.
type PricingAPI interface {
	pricing.GetProductsAPIClient
}

var (
	_ EC2API     = &ec2.Client{}
	_ PricingAPI = &pricing.Client{}
)

// Endpoints override where the clients send requests; empty means the SDK's
// resolution (AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, then AWS's endpoints).
type Endpoints struct {
	EC2     string
	Pricing string
}

// NewClients returns EC2 and Pricing clients for cfg, which comes from
// config.LoadDefaultConfig in production: the standard credential chain,
// region and retryer. The Pricing client talks to the Pricing API's own
// region (see PricingRegion).
func NewClients(cfg aws.Config, endpoints Endpoints) (*ec2.Client, *pricing.Client) {
	ec2Client := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if endpoints.EC2 != "" {
			o.BaseEndpoint = aws.String(endpoints.EC2)
		}
	})
	pricingClient := pricing.NewFromConfig(cfg, func(o *pricing.Options) {
		o.Region = PricingRegion(cfg.Region)
		if endpoints.Pricing != "" {
			o.BaseEndpoint = aws.String(endpoints.Pricing)
		}
	})
	return ec2Client, pricingClient
}

// PricingRegion is the region whose Pricing API endpoint serves prices for
// region: the Pricing API lives in a few regions only, and us-east-1 answers
// for every commercial region; China's prices are served from
// cn-northwest-1.
func PricingRegion(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "cn-northwest-1"
	}
	return "us-east-1"
}
