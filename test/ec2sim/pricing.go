package ec2sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// Constants of the AWS Price List that every simulated EC2 product shares.
const (
	priceListVersion   = "20250801000000"
	priceListPublished = "2025-08-01T00:00:00Z"
	onDemandTermCode   = "JRTCKXETXF"
	onDemandRateCode   = "6YS6EN2CT7"
	regionLocation     = "US East (N. Virginia)"
)

// newPricingAPI serves the AWS Price List Query API's GetProducts
// (awsJson 1.1) with the on-demand Linux prices compiled into the catalog,
// each product written as the JSON string the real API returns.
func newPricingAPI(s *Simulator) *jsonProtocol {
	api := &pricingAPI{sim: s}
	return &jsonProtocol{
		target: "AWSPriceListService", version: "1.1", messageKey: "Message",
		operations: map[string]jsonHandler{"GetProducts": api.getProducts},
	}
}

type pricingAPI struct {
	sim *Simulator
}

type priceFilter struct {
	Type  string `json:"Type"`
	Field string `json:"Field"`
	Value string `json:"Value"`
}

type priceProduct struct {
	Product struct {
		ProductFamily string            `json:"productFamily"`
		Attributes    map[string]string `json:"attributes"`
		SKU           string            `json:"sku"`
	} `json:"product"`
	ServiceCode     string                          `json:"serviceCode"`
	Terms           map[string]map[string]priceTerm `json:"terms"`
	Version         string                          `json:"version"`
	PublicationDate string                          `json:"publicationDate"`
}

type priceTerm struct {
	PriceDimensions map[string]priceDimension `json:"priceDimensions"`
	SKU             string                    `json:"sku"`
	EffectiveDate   string                    `json:"effectiveDate"`
	OfferTermCode   string                    `json:"offerTermCode"`
	TermAttributes  map[string]string         `json:"termAttributes"`
}

type priceDimension struct {
	Unit         string            `json:"unit"`
	EndRange     string            `json:"endRange"`
	Description  string            `json:"description"`
	AppliesTo    []string          `json:"appliesTo"`
	RateCode     string            `json:"rateCode"`
	BeginRange   string            `json:"beginRange"`
	PricePerUnit map[string]string `json:"pricePerUnit"`
}

func (a *pricingAPI) getProducts(_ context.Context, body []byte) (any, error) {
	var in struct {
		ServiceCode   string        `json:"ServiceCode"`
		Filters       []priceFilter `json:"Filters"`
		FormatVersion string        `json:"FormatVersion"`
		NextToken     string        `json:"NextToken"`
		MaxResults    *int64        `json:"MaxResults"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	switch {
	case in.ServiceCode == "":
		return nil, pricingError("InvalidParameterException", "Input parameters are invalid. ServiceCode is required.")
	case in.ServiceCode != "AmazonEC2":
		return nil, &apiError{Status: http.StatusBadRequest, Code: "NotFoundException",
			Message: fmt.Sprintf("The simulator prices only AmazonEC2, not %s", in.ServiceCode)}
	case in.FormatVersion != "" && in.FormatVersion != "aws_v1":
		return nil, pricingError("InvalidParameterException", "Input parameters are invalid. FormatVersion must be aws_v1.")
	}
	for _, f := range in.Filters {
		switch f.Type {
		case "TERM_MATCH", "EQUALS", "CONTAINS", "ANY_OF", "NONE_OF":
		default:
			return nil, pricingError("InvalidParameterException", "Input parameters are invalid. Unknown filter type "+f.Type)
		}
	}
	w := a.sim.world
	var products []priceProduct
	for _, name := range w.typeNames {
		price, ok := w.onDemand[name]
		if !ok {
			continue
		}
		p := ec2Product(w.types[name], price)
		if matchPriceFilters(in.Filters, p) {
			products = append(products, p)
		}
	}
	page, next, err := paginate(products, func(p priceProduct) string { return p.Product.Attributes["instanceType"] },
		pageRequest{MaxResults: in.MaxResults, NextToken: in.NextToken}, pageLimits{min: 1, max: 100, fallback: 100})
	if err != nil {
		return nil, pricingError("InvalidNextTokenException", "The pagination token is invalid.")
	}
	out := struct {
		FormatVersion string   `json:"FormatVersion"`
		PriceList     []string `json:"PriceList"`
		NextToken     string   `json:"NextToken,omitempty"`
	}{FormatVersion: "aws_v1", PriceList: []string{}, NextToken: next}
	for _, p := range page {
		entry, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encoding the price list entry of %s: %w", p.Product.Attributes["instanceType"], err)
		}
		out.PriceList = append(out.PriceList, string(entry))
	}
	return out, nil
}

func pricingError(code, message string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: message}
}

// ec2Product is a type's Linux, shared-tenancy, on-demand product as the
// Price List publishes it.
func ec2Product(info *catalog.Info, price float64) priceProduct {
	sku := priceSKU(info.Name)
	var p priceProduct
	p.Product.ProductFamily = "Compute Instance"
	p.Product.SKU = sku
	p.Product.Attributes = map[string]string{
		"servicecode":           "AmazonEC2",
		"servicename":           "Amazon Elastic Compute Cloud",
		"location":              regionLocation,
		"locationType":          "AWS Region",
		"regionCode":            Region,
		"instanceType":          info.Name,
		"instanceFamily":        instanceFamilyName(info.Category),
		"currentGeneration":     map[bool]string{true: "Yes", false: "No"}[!previousGenerationFamilies[info.Family]],
		"vcpu":                  strconv.Itoa(int(info.VCPU)),
		"memory":                strconv.FormatFloat(float64(info.MemoryMiB)/1024, 'f', -1, 64) + " GiB",
		"networkPerformance":    networkPerformance(info.NetworkBandwidthMbps),
		"processorArchitecture": "64-bit",
		"physicalProcessor":     manufacturerName(info.CPUManufacturer),
		"operatingSystem":       "Linux",
		"tenancy":               "Shared",
		"capacitystatus":        "Used",
		"preInstalledSw":        "NA",
		"licenseModel":          "No License required",
		"marketoption":          "OnDemand",
		"operation":             "RunInstances",
		"usagetype":             "BoxUsage:" + info.Name,
	}
	if info.GPUCount > 0 {
		p.Product.Attributes["gpu"] = strconv.Itoa(int(info.GPUCount))
	}
	p.ServiceCode = "AmazonEC2"
	p.Version = priceListVersion
	p.PublicationDate = priceListPublished
	term := sku + "." + onDemandTermCode
	rate := term + "." + onDemandRateCode
	p.Terms = map[string]map[string]priceTerm{"OnDemand": {term: {
		SKU: sku, EffectiveDate: priceListPublished, OfferTermCode: onDemandTermCode, TermAttributes: map[string]string{},
		PriceDimensions: map[string]priceDimension{rate: {
			Unit: "Hrs", BeginRange: "0", EndRange: "Inf", AppliesTo: []string{}, RateCode: rate,
			Description:  fmt.Sprintf("$%s per On Demand Linux %s Instance Hour", strconv.FormatFloat(price, 'f', -1, 64), info.Name),
			PricePerUnit: map[string]string{"USD": strconv.FormatFloat(price, 'f', 10, 64)},
		}},
	}}}
	return p
}

// priceSKU derives a stable 16-character SKU from a type name.
func priceSKU(instanceType string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	for i := range 16 {
		b.WriteByte(alphabet[int(unit("sku", instanceType, strconv.Itoa(i))*float64(len(alphabet)))])
	}
	return b.String()
}

// instanceFamilyName is the Price List's family of an instance category.
func instanceFamilyName(category string) string {
	switch category {
	case "c":
		return "Compute optimized"
	case "r", "x", "z", "u":
		return "Memory optimized"
	case "i", "d", "h", "im", "is":
		return "Storage optimized"
	case "p", "g", "inf", "trn", "dl", "f", "vt":
		return "GPU instance"
	}
	return "General purpose"
}

// matchPriceFilters applies GetProducts filters to a product's attributes
// (and its productFamily).
func matchPriceFilters(filters []priceFilter, p priceProduct) bool {
	for _, f := range filters {
		value, ok := p.Product.Attributes[f.Field]
		if f.Field == "productFamily" {
			value, ok = p.Product.ProductFamily, true
		}
		in := func() bool {
			for _, v := range strings.Split(f.Value, ",") {
				if strings.EqualFold(strings.TrimSpace(v), value) {
					return true
				}
			}
			return false
		}
		var match bool
		switch f.Type {
		case "TERM_MATCH", "EQUALS":
			match = ok && strings.EqualFold(value, f.Value)
		case "CONTAINS":
			match = ok && strings.Contains(strings.ToLower(value), strings.ToLower(f.Value))
		case "ANY_OF":
			match = ok && in()
		case "NONE_OF":
			match = !ok || !in()
		}
		if !match {
			return false
		}
	}
	return true
}
