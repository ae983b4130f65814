package wellknown

import (
	"encoding/json"
	"fmt"
	"time"
)

// UnavailableOfferingsAnnotation lists on a NodeClaim, as JSON, the
// offerings EC2 refused while the launcher tried to launch it. The launcher
// writes it; the scheduler plugin, which keeps a catalog of its own, reads
// it off the claim so its next decision avoids those offerings.
const UnavailableOfferingsAnnotation = "tailor.sh/unavailable-offerings"

// UnavailableOffering is one entry of UnavailableOfferingsAnnotation.
type UnavailableOffering struct {
	InstanceType string `json:"instanceType"`
	Zone         string `json:"zone"`
	CapacityType string `json:"capacityType"`
	Reason       string `json:"reason"`
	// At is when EC2 refused the offering. A refusal is only news for a
	// while (the catalog's TTL), and the annotation outlives that: a reader
	// that restarts or resyncs counts the TTL from here, not from when it
	// happened to read the claim.
	At time.Time `json:"at,omitzero"`
}

// ParseUnavailableOfferings reads UnavailableOfferingsAnnotation from an
// object's annotations; none is no offering.
func ParseUnavailableOfferings(annotations map[string]string) ([]UnavailableOffering, error) {
	raw, ok := annotations[UnavailableOfferingsAnnotation]
	if !ok || raw == "" {
		return nil, nil
	}
	var out []UnavailableOffering
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", UnavailableOfferingsAnnotation, err)
	}
	return out, nil
}
