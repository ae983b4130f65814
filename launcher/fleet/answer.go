package fleet

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"k8s.io/klog/v2"

	"github.com/tailor-project/tailor/launcher/awserr"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/launcher/instance"
)

// result reads CreateFleet's answer: the instance launched, and the
// offerings that failed, which are marked unavailable.
func (l *Launcher) result(ctx context.Context, req Request, ct string, out *ec2.CreateFleetOutput, overrides map[overrideKey]override) (*Result, error) {
	var unavailable []Offering
	var otherErrors []string
	for _, e := range out.Errors {
		code, message := aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage)
		if strings.HasPrefix(code, "InvalidLaunchTemplate") {
			l.Templates.Forget()
		}
		o, ok := l.overrideOf(e.LaunchTemplateAndOverrides, overrides)
		if !ok || !awserr.IsCapacityCode(code) {
			otherErrors = append(otherErrors, code+": "+message)
			continue
		}
		l.Unavailable.MarkUnavailable(ctx, o.pool.instanceType.Name, o.pool.offering.Zone, ct, code)
		unavailable = append(unavailable, Offering{InstanceType: o.pool.instanceType.Name, Zone: o.pool.offering.Zone, CapacityType: ct, Reason: code})
	}
	for _, fi := range out.Instances {
		if len(fi.InstanceIds) == 0 {
			continue
		}
		o, ok := l.overrideOf(fi.LaunchTemplateAndOverrides, overrides)
		if !ok {
			return nil, fmt.Errorf("CreateFleet launched %s from an override it was not asked for", fi.InstanceIds[0])
		}
		zone := aws.ToString(fi.AvailabilityZone)
		if zone == "" {
			zone = o.pool.offering.Zone
		}
		inst := &instance.Instance{
			ID:                      fi.InstanceIds[0],
			Type:                    o.pool.instanceType.Name,
			Zone:                    zone,
			CapacityType:            ct,
			CapacityReservationID:   o.pool.offering.ReservationID,
			CapacityReservationType: o.pool.offering.ReservationType,
			ImageID:                 o.image,
			State:                   ec2types.InstanceStateNamePending,
		}
		klog.FromContext(ctx).Info("Launched instance", "nodeClaim", req.NodeClaim.Name, "instance", inst.ID,
			"instanceType", inst.Type, "zone", inst.Zone, "capacityType", ct, "fleet", aws.ToString(out.FleetId))
		return &Result{Instance: inst, InstanceType: o.pool.instanceType, Offering: o.pool.offering, Unavailable: unavailable}, nil
	}
	if len(unavailable) > 0 && len(otherErrors) == 0 {
		return nil, &NotLaunchableError{Reason: ReasonInsufficientCapacity, Message: fmt.Sprintf("no %s offering the NodeClaim allows has capacity", ct), Offerings: unavailable}
	}
	if len(otherErrors) == 0 {
		otherErrors = append(otherErrors, "no instance and no error in the answer")
	}
	return nil, fmt.Errorf("CreateFleet (fleet %s) launched nothing for NodeClaim %s: %s", aws.ToString(out.FleetId), req.NodeClaim.Name, strings.Join(otherErrors, "; "))
}

// overrideOf finds the override an entry of CreateFleet's answer is about.
func (l *Launcher) overrideOf(lto *ec2types.LaunchTemplateAndOverridesResponse, overrides map[overrideKey]override) (override, bool) {
	if lto == nil || lto.Overrides == nil {
		return override{}, false
	}
	o, ok := overrides[overrideKey{string(lto.Overrides.InstanceType), aws.ToString(lto.Overrides.SubnetId)}]
	return o, ok
}

// maxRecordedOfferings caps the offerings a claim that has nothing left to
// try records, cheapest first: the annotation they go to must stay small.
const maxRecordedOfferings = 50

// unavailableOfferings lists the cheapest offerings of types that are all
// unavailable, for a claim that has nothing left to try.
func unavailableOfferings(types []*catalog.InstanceType) []Offering {
	type priced struct {
		Offering
		price float64
	}
	var all []priced
	for _, it := range types {
		for _, o := range it.Offerings {
			all = append(all, priced{Offering{InstanceType: it.Name, Zone: o.Zone, CapacityType: o.CapacityType, Reason: o.UnavailableReason}, o.Price})
		}
	}
	slices.SortStableFunc(all, func(a, b priced) int { return cmp.Compare(a.price, b.price) })
	out := make([]Offering, 0, min(len(all), maxRecordedOfferings))
	for _, p := range all[:min(len(all), maxRecordedOfferings)] {
		out = append(out, p.Offering)
	}
	return out
}
