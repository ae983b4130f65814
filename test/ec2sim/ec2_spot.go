package ec2sim

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	smithytime "github.com/aws/smithy-go/time"
)

// spotHistoryRetention is how far back spot price history goes, as in EC2.
const spotHistoryRetention = 90 * 24 * time.Hour

// spotProductDescriptions are the products whose spot prices the simulator
// publishes; both are the Linux price.
var spotProductDescriptions = []string{"Linux/UNIX", "Linux/UNIX (Amazon VPC)"}

type spotPriceXML struct {
	InstanceType       string `xml:"instanceType"`
	ProductDescription string `xml:"productDescription"`
	SpotPrice          string `xml:"spotPrice"`
	Timestamp          string `xml:"timestamp"`
	AvailabilityZone   string `xml:"availabilityZone"`
	AvailabilityZoneID string `xml:"availabilityZoneId"`
}

type describeSpotPriceHistoryResponse struct {
	ec2Meta
	SpotPrices []spotPriceXML `xml:"spotPriceHistorySet>item"`
	NextToken  string         `xml:"nextToken,omitempty"`
}

type spotPoint struct {
	key  string
	item spotPriceXML
}

// describeSpotPriceHistory returns the simulated price changes of the
// selected pools between StartTime and EndTime, newest first; with neither,
// the price in effect now.
func (e *ec2API) describeSpotPriceHistory(_ context.Context, p params) (ec2Body, error) {
	s := e.sim
	now := s.clock.Now()
	start, end, err := spotWindow(p, now)
	if err != nil {
		return nil, err
	}
	filters, err := readFilters(p)
	if err != nil {
		return nil, err
	}
	products := spotProductDescriptions
	if asked := p.Strings("ProductDescription"); len(asked) > 0 {
		products = nil
		for _, a := range asked {
			for _, known := range spotProductDescriptions {
				if a == known {
					products = append(products, a)
				}
			}
		}
	}
	var selectedZones []zone
	for _, z := range zones {
		if name := p.String("AvailabilityZone"); name != "" && name != z.Name {
			continue
		}
		if id := p.String("AvailabilityZoneId"); id != "" && id != z.ID {
			continue
		}
		selectedZones = append(selectedZones, z)
	}
	types := p.Strings("InstanceType")
	if len(types) == 0 {
		types = s.world.typeNames
	}

	var points []spotPoint
	for _, t := range types {
		onDemand, ok := s.world.onDemand[t]
		if !ok {
			continue
		}
		for _, z := range selectedZones {
			for at := end; !at.Before(start); at = at.Add(-spotPriceStep) {
				price := formatPrice(spotPriceAt(t, z, onDemand, at))
				for _, product := range products {
					item := spotPriceXML{
						InstanceType: t, ProductDescription: product, SpotPrice: price, Timestamp: awsTime(at),
						AvailabilityZone: z.Name, AvailabilityZoneID: z.ID,
					}
					ok, err := matchFilters(filters, func(name string) ([]string, bool) {
						switch name {
						case "availability-zone":
							return []string{z.Name}, true
						case "instance-type":
							return []string{t}, true
						case "product-description":
							return []string{product}, true
						case "spot-price":
							return []string{price}, true
						case "timestamp":
							return []string{item.Timestamp}, true
						}
						return nil, false
					})
					if err != nil {
						return nil, err
					}
					if ok {
						// Newest first: the key sorts later times before earlier ones.
						key := fmt.Sprintf("%019d|%s|%s|%s", math.MaxInt64-at.Unix(), t, z.Name, product)
						points = append(points, spotPoint{key: key, item: item})
					}
				}
			}
		}
	}
	sort.Slice(points, func(i, j int) bool { return points[i].key < points[j].key })
	page, next, err := paginateEC2(points, func(sp spotPoint) string { return sp.key }, p, pageLimits{min: 1, max: 1000, fallback: 1000})
	if err != nil {
		return nil, err
	}
	out := &describeSpotPriceHistoryResponse{NextToken: next}
	for _, sp := range page {
		out.SpotPrices = append(out.SpotPrices, sp.item)
	}
	return out, nil
}

// spotWindow returns the first and last price steps a request covers.
func spotWindow(p params, now time.Time) (start, end time.Time, err error) {
	parse := func(key string) (time.Time, bool, error) {
		v := p.String(key)
		if v == "" {
			return time.Time{}, false, nil
		}
		t, err := smithytime.ParseDateTime(v)
		if err != nil {
			return time.Time{}, false, errInvalidParameterValue(key, v, "Expecting an ISO 8601 date-time.")
		}
		return t, true, nil
	}
	start, hasStart, err := parse("StartTime")
	if err != nil {
		return start, end, err
	}
	end, hasEnd, err := parse("EndTime")
	if err != nil {
		return start, end, err
	}
	if hasStart && hasEnd && start.After(end) {
		return start, end, clientError("InvalidParameterValue", "StartTime must be before EndTime")
	}
	if !hasEnd || end.After(now) {
		end = now
	}
	end = end.Truncate(spotPriceStep)
	start = start.Truncate(spotPriceStep)
	if !hasStart || start.After(end) {
		// No start, or one after the last step: the price in effect at the end.
		start = end
	}
	if earliest := end.Add(-spotHistoryRetention); start.Before(earliest) {
		start = earliest
	}
	return start, end, nil
}
