package nodeclaim

import (
	"encoding/json"
	"fmt"
	"time"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/fleet"
)

// UnavailableOfferingsAnnotation is wellknown.UnavailableOfferingsAnnotation.
const UnavailableOfferingsAnnotation = wellknown.UnavailableOfferingsAnnotation

// UnavailableOfferings reads the annotation of a claim.
func UnavailableOfferings(claim *karpv1.NodeClaim) ([]fleet.Offering, error) {
	out, err := wellknown.ParseUnavailableOfferings(claim.Annotations)
	if err != nil {
		return nil, fmt.Errorf("NodeClaim %s: %w", claim.Name, err)
	}
	return out, nil
}

// recordUnavailable adds offerings to the claim's annotation, each with the
// time EC2 refused it (now, unless it says); an offering already recorded
// gets its new reason and time.
func recordUnavailable(claim *karpv1.NodeClaim, offerings []fleet.Offering) error {
	if len(offerings) == 0 {
		return nil
	}
	recorded, err := UnavailableOfferings(claim)
	if err != nil {
		// A mangled annotation is replaced rather than kept mangled.
		recorded = nil
	}
	type key struct{ instanceType, zone, capacityType string }
	index := map[key]int{}
	for i, o := range recorded {
		index[key{o.InstanceType, o.Zone, o.CapacityType}] = i
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, o := range offerings {
		if o.At.IsZero() {
			o.At = now
		}
		k := key{o.InstanceType, o.Zone, o.CapacityType}
		if i, ok := index[k]; ok {
			recorded[i] = o
			continue
		}
		index[k] = len(recorded)
		recorded = append(recorded, o)
	}
	raw, err := json.Marshal(recorded)
	if err != nil {
		return fmt.Errorf("writing annotation %s: %w", UnavailableOfferingsAnnotation, err)
	}
	if claim.Annotations == nil {
		claim.Annotations = map[string]string{}
	}
	claim.Annotations[UnavailableOfferingsAnnotation] = string(raw)
	return nil
}

// RecordUnavailable is recordUnavailable for the rest of the launcher: the
// interruption handler records the spot offering EC2 takes back, so that
// the scheduler plugin, which reads the annotation into its own catalog,
// avoids it for the replacement.
func RecordUnavailable(claim *karpv1.NodeClaim, offerings ...fleet.Offering) error {
	return recordUnavailable(claim, offerings)
}
