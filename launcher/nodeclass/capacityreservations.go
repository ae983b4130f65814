package nodeclass

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/launcher/awserr"
)

// CapacityReservations returns the active capacity reservations the class's
// terms select, sorted by id, and the terms (described for a message) that
// selected none. A class without terms selects none and calls nothing. A
// Capacity Block within ec2v1.CapacityBlockExpiryLead of its end at now is
// listed with state expiring, as Karpenter lists it: no more launches go
// into it, and its nodes are replaced.
func (r *Resolver) CapacityReservations(ctx context.Context, nc *ec2v1.EC2NodeClass, now time.Time) ([]ec2v1.CapacityReservation, []string, error) {
	found := map[string]ec2types.CapacityReservation{}
	var unmatched []string
	for _, term := range nc.Spec.CapacityReservationSelectorTerms {
		filters := []ec2types.Filter{{Name: aws.String("state"), Values: []string{string(ec2types.CapacityReservationStateActive)}}}
		var described string
		if term.ID != "" {
			filters = append(filters, ec2types.Filter{Name: aws.String("capacity-reservation-id"), Values: []string{term.ID}})
			described = "id " + term.ID
		} else {
			filters = append(filters, tagFilters(term.Tags)...)
			described = "tags " + describeTags(term.Tags)
			if term.OwnerID != "" {
				filters = append(filters, ec2types.Filter{Name: aws.String("owner-id"), Values: []string{term.OwnerID}})
				described += " of owner " + term.OwnerID
			}
		}
		matched := 0
		pages := ec2.NewDescribeCapacityReservationsPaginator(r.EC2, &ec2.DescribeCapacityReservationsInput{Filters: filters})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("selecting capacity reservations by %s: %w", described, awserr.Wrap("ec2", "DescribeCapacityReservations", err))
			}
			for _, cr := range page.CapacityReservations {
				if cr.State != ec2types.CapacityReservationStateActive {
					continue
				}
				found[aws.ToString(cr.CapacityReservationId)] = cr
				matched++
			}
		}
		if matched == 0 {
			unmatched = append(unmatched, described)
		}
	}
	out := make([]ec2v1.CapacityReservation, 0, len(found))
	for _, cr := range found {
		res := ec2v1.CapacityReservation{
			ID:                    aws.ToString(cr.CapacityReservationId),
			InstanceType:          aws.ToString(cr.InstanceType),
			AvailabilityZone:      aws.ToString(cr.AvailabilityZone),
			OwnerID:               aws.ToString(cr.OwnerId),
			InstanceMatchCriteria: string(cr.InstanceMatchCriteria),
			ReservationType:       reservationType(cr.ReservationType),
			State:                 ec2v1.CapacityReservationStateActive,
		}
		if cr.EndDate != nil {
			end := metav1.NewTime(*cr.EndDate)
			res.EndTime = &end
		}
		if ec2v1.BlockExpiring(res.ReservationType, res.EndTime, now) {
			res.State = ec2v1.CapacityReservationStateExpiring
		}
		out = append(out, res)
	}
	slices.SortFunc(out, func(a, b ec2v1.CapacityReservation) int { return cmp.Compare(a.ID, b.ID) })
	if len(out) == 0 {
		out = nil
	}
	return out, unmatched, nil
}

// reservationType is EC2's reservation type as the status spells it:
// "default" for an ordinary ODCR, which is also what EC2 leaves unset.
func reservationType(t ec2types.CapacityReservationType) string {
	if t == "" {
		return ec2v1.CapacityReservationTypeDefault
	}
	return string(t)
}
