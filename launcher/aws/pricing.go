package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	pricingtypes "github.com/aws/aws-sdk-go-v2/service/pricing/types"
)

// onDemandFilters select Linux on-demand prices of shared-tenancy instances
// with no pre-installed software, the price Tailor pays for a node.
func onDemandFilters(region string) []pricingtypes.Filter {
	match := func(field, value string) pricingtypes.Filter {
		return pricingtypes.Filter{Type: pricingtypes.FilterTypeTermMatch, Field: aws.String(field), Value: aws.String(value)}
	}
	return []pricingtypes.Filter{
		match("regionCode", region),
		match("operatingSystem", "Linux"),
		match("tenancy", "Shared"),
		match("preInstalledSw", "NA"),
		match("capacitystatus", "Used"),
	}
}

// getOnDemandPrices reads the region's on-demand prices from the Pricing API,
// in USD per hour by instance type.
func getOnDemandPrices(ctx context.Context, client PricingAPI, region string) (map[string]float64, error) {
	pages := pricing.NewGetProductsPaginator(client, &pricing.GetProductsInput{
		ServiceCode:   aws.String("AmazonEC2"),
		Filters:       onDemandFilters(region),
		FormatVersion: aws.String("aws_v1"),
	})
	prices := map[string]float64{}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, wrapError("pricing", "GetProducts", err)
		}
		for _, doc := range page.PriceList {
			name, price, err := parsePriceListItem(doc)
			if err != nil {
				return nil, fmt.Errorf("pricing GetProducts: %w", err)
			}
			if name != "" && price > 0 {
				prices[name] = price
			}
		}
	}
	if len(prices) == 0 {
		return nil, fmt.Errorf("pricing GetProducts: no on-demand prices for region %s", region)
	}
	return prices, nil
}

// priceListItem is the part of a price list document that holds an instance
// type's on-demand price. Terms and dimensions are keyed by opaque codes.
type priceListItem struct {
	Product struct {
		Attributes struct {
			InstanceType string `json:"instanceType"`
		} `json:"attributes"`
	} `json:"product"`
	Terms struct {
		OnDemand map[string]struct {
			PriceDimensions map[string]struct {
				Unit         string            `json:"unit"`
				PricePerUnit map[string]string `json:"pricePerUnit"`
			} `json:"priceDimensions"`
		} `json:"OnDemand"`
	} `json:"terms"`
}

// parsePriceListItem returns the instance type and hourly USD price of one
// price list document; an empty name for a product that is not an instance
// type.
func parsePriceListItem(doc string) (string, float64, error) {
	var item priceListItem
	if err := json.Unmarshal([]byte(doc), &item); err != nil {
		return "", 0, fmt.Errorf("decoding a price list item: %w", err)
	}
	name := item.Product.Attributes.InstanceType
	for _, term := range item.Terms.OnDemand {
		for _, dim := range term.PriceDimensions {
			usd, ok := dim.PricePerUnit["USD"]
			if !ok || dim.Unit != "Hrs" {
				continue
			}
			price, err := strconv.ParseFloat(usd, 64)
			if err != nil {
				return "", 0, fmt.Errorf("price of %s: %w", name, err)
			}
			if price > 0 {
				return name, price, nil
			}
		}
	}
	return name, 0, nil
}
