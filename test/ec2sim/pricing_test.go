package ec2sim

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	pricingtypes "github.com/aws/aws-sdk-go-v2/service/pricing/types"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// TestGetProducts pages through the on-demand Linux prices with the filters
// Karpenter's pricing controller uses, parses each PriceList entry as the
// JSON document the real API returns, and finds the catalog's price.
func TestGetProducts(t *testing.T) {
	s := startSim(t, Options{})
	c := pricing.NewFromConfig(sdkConfig(s))
	ctx := context.Background()
	filter := func(field, value string) pricingtypes.Filter {
		return pricingtypes.Filter{Type: pricingtypes.FilterTypeTermMatch, Field: aws.String(field), Value: aws.String(value)}
	}
	prices := map[string]float64{}
	p := pricing.NewGetProductsPaginator(c, &pricing.GetProductsInput{
		ServiceCode: aws.String("AmazonEC2"),
		Filters: []pricingtypes.Filter{
			filter("regionCode", Region), filter("operatingSystem", "Linux"), filter("tenancy", "Shared"),
			filter("capacitystatus", "Used"), filter("preInstalledSw", "NA"), filter("productFamily", "Compute Instance"),
			filter("marketoption", "OnDemand"),
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetProducts: %v", err)
		}
		for _, entry := range page.PriceList {
			var doc struct {
				Product struct {
					Attributes map[string]string `json:"attributes"`
				} `json:"product"`
				Terms struct {
					OnDemand map[string]struct {
						PriceDimensions map[string]struct {
							PricePerUnit map[string]string `json:"pricePerUnit"`
						} `json:"priceDimensions"`
					} `json:"OnDemand"`
				} `json:"terms"`
			}
			if err := json.Unmarshal([]byte(entry), &doc); err != nil {
				t.Fatalf("a PriceList entry is not JSON: %v", err)
			}
			for _, term := range doc.Terms.OnDemand {
				for _, dim := range term.PriceDimensions {
					price, err := strconv.ParseFloat(dim.PricePerUnit["USD"], 64)
					if err != nil {
						t.Fatalf("price %q: %v", dim.PricePerUnit["USD"], err)
					}
					prices[doc.Product.Attributes["instanceType"]] = price
				}
			}
		}
	}
	want := catalog.StaticOnDemandPrices()
	for _, name := range s.world.typeNames {
		if want[name] != prices[name] {
			t.Errorf("%s: GetProducts says %v, the catalog %v", name, prices[name], want[name])
		}
	}

	one, err := c.GetProducts(ctx, &pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"), Filters: []pricingtypes.Filter{filter("instanceType", "m5.large")}})
	if err != nil || len(one.PriceList) != 1 || aws.ToString(one.FormatVersion) != "aws_v1" {
		t.Errorf("GetProducts for m5.large: %v %+v", err, one)
	}
	none, err := c.GetProducts(ctx, &pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"), Filters: []pricingtypes.Filter{filter("operatingSystem", "Windows")}})
	if err != nil || len(none.PriceList) != 0 {
		t.Errorf("Windows prices are not simulated, got %v %d", err, len(none.PriceList))
	}
	_, err = c.GetProducts(ctx, &pricing.GetProductsInput{ServiceCode: aws.String("AmazonS3")})
	var notFound *pricingtypes.NotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("GetProducts of AmazonS3: %v, want NotFoundException", err)
	}
}
