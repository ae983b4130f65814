package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"k8s.io/klog/v2"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/awserr"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/launchtemplate"
)

// EC2API is the part of the EC2 client a launch calls.
type EC2API interface {
	CreateFleet(context.Context, *ec2.CreateFleetInput, ...func(*ec2.Options)) (*ec2.CreateFleetOutput, error)
}

var _ EC2API = &ec2.Client{}

// Templates makes launch templates.
type Templates interface {
	Ensure(ctx context.Context, spec *launchtemplate.Spec) (launchtemplate.Template, error)
	Forget()
}

// Instances finds the instances of a claim.
type Instances interface {
	ForNodeClaim(ctx context.Context, nodeClaim string) ([]*instance.Instance, error)
}

// Unavailable takes offerings away for a while: the catalog.
type Unavailable interface {
	MarkUnavailable(ctx context.Context, instanceType, zone, capacityType, reason string)
}

// Launcher launches the instances of NodeClaims.
type Launcher struct {
	EC2         EC2API
	Templates   Templates
	Instances   Instances
	Unavailable Unavailable
	Cluster     Cluster
}

// Request is a claim to launch, the class it is built from (Ready), and the
// instance types it allows with the offerings it allows (available or not),
// each big enough for what the claim requests.
type Request struct {
	NodeClaim     *karpv1.NodeClaim
	NodeClass     *ec2v1.EC2NodeClass
	InstanceTypes []*catalog.InstanceType
}

// Result is the instance a claim got.
type Result struct {
	Instance     *instance.Instance
	InstanceType *catalog.InstanceType
	// Offering is what the instance was launched from; its zone id is empty
	// when the catalog does not know it.
	Offering catalog.Offering
	// Adopted is true when the instance was launched before, by an earlier
	// attempt, and only found now.
	Adopted bool
	// Unavailable are the offerings EC2 refused on the way.
	Unavailable []Offering
}

// Launch gives the claim an instance: the one it already has, or a new one.
// A *NotLaunchableError says the claim cannot be launched; other errors may
// pass (throttling, a failing endpoint) and are worth retrying later.
func (l *Launcher) Launch(ctx context.Context, req Request) (*Result, error) {
	claim := req.NodeClaim
	existing, err := l.Instances.ForNodeClaim(ctx, claim.Name)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return l.adopt(req, existing), nil
	}
	res, err := l.launch(ctx, req)
	var notLaunchable *NotLaunchableError
	if !errors.As(err, &notLaunchable) || notLaunchable.Reason != ReasonInsufficientCapacity || capacityType(req.InstanceTypes) != wellknown.CapacityTypeReserved {
		return res, err
	}
	// The reservations were full: the claim goes on-demand or spot, if it
	// allows them, without waiting for the scheduler to decide again.
	full := notLaunchable.Offerings
	req.InstanceTypes = withoutReserved(req.InstanceTypes)
	if capacityType(req.InstanceTypes) == "" {
		return nil, err
	}
	klog.FromContext(ctx).Info("Capacity reservations full, launching without them", "nodeClaim", claim.Name, "refused", describeOfferings(full))
	res, err = l.launch(ctx, req)
	switch {
	case res != nil:
		res.Unavailable = append(full, res.Unavailable...)
	case errors.As(err, &notLaunchable) && notLaunchable.Reason == ReasonInsufficientCapacity:
		notLaunchable.Offerings = append(full, notLaunchable.Offerings...)
	}
	return res, err
}

// withoutReserved copies types with their reserved offerings unavailable.
func withoutReserved(types []*catalog.InstanceType) []*catalog.InstanceType {
	out := make([]*catalog.InstanceType, 0, len(types))
	for _, it := range types {
		cp := *it
		cp.Offerings = slices.Clone(it.Offerings)
		for i := range cp.Offerings {
			if o := &cp.Offerings[i]; o.CapacityType == wellknown.CapacityTypeReserved && o.Available {
				o.Available, o.UnavailableReason = false, "capacity reservation full"
			}
		}
		out = append(out, &cp)
	}
	return out
}

// launch makes one CreateFleet call, in the market capacityType picks.
func (l *Launcher) launch(ctx context.Context, req Request) (*Result, error) {
	claim := req.NodeClaim
	ct := capacityType(req.InstanceTypes)
	if ct == "" {
		return nil, &NotLaunchableError{Reason: ReasonInsufficientCapacity, Message: "no offering the NodeClaim allows is available", Offerings: unavailableOfferings(req.InstanceTypes)}
	}
	candidates := pools(req.InstanceTypes, ct, zoneSubnets(req.NodeClass))
	if len(candidates) == 0 {
		return nil, &NotLaunchableError{Reason: ReasonNoSubnet, Message: fmt.Sprintf("EC2NodeClass %s has no subnet in a zone with an available %s offering", req.NodeClass.Name, ct)}
	}
	block := false
	if ct == wellknown.CapacityTypeReserved {
		candidates, block = oneReservationType(candidates)
	}
	configs, overrides, err := l.launchTemplateConfigs(ctx, req, ct, candidates)
	if err != nil {
		return nil, err
	}
	out, err := l.EC2.CreateFleet(ctx, l.fleetInput(req, ct, block, configs))
	if awserr.IsIdempotentParameterMismatch(err) {
		return l.afterMismatch(ctx, req)
	}
	if err != nil {
		return nil, fmt.Errorf("launching NodeClaim %s: %w", claim.Name, awserr.Wrap("ec2", "CreateFleet", err))
	}
	return l.result(ctx, req, ct, out, overrides)
}

// adopt returns an instance an earlier attempt launched. Should there be
// more than one, the oldest is kept; garbage collection terminates the
// others, which the claim does not name.
func (l *Launcher) adopt(req Request, found []*instance.Instance) *Result {
	slices.SortFunc(found, func(a, b *instance.Instance) int { return a.LaunchTime.Compare(b.LaunchTime) })
	inst := found[0]
	res := &Result{Instance: inst, Adopted: true, Offering: catalog.Offering{Zone: inst.Zone, CapacityType: inst.CapacityType,
		ReservationID: inst.CapacityReservationID, ReservationType: inst.CapacityReservationType}}
	for _, it := range req.InstanceTypes {
		if it.Name != inst.Type {
			continue
		}
		res.InstanceType = it
		for _, o := range it.Offerings {
			if o.Zone == inst.Zone && o.CapacityType == inst.CapacityType && o.ReservationID == inst.CapacityReservationID {
				res.Offering = o
			}
		}
	}
	return res
}

// afterMismatch handles a CreateFleet that EC2 refused because an earlier
// request with the claim's token was different: that request was carried
// out, so its instance, if it launched one, is the claim's.
func (l *Launcher) afterMismatch(ctx context.Context, req Request) (*Result, error) {
	found, err := l.Instances.ForNodeClaim(ctx, req.NodeClaim.Name)
	if err != nil {
		return nil, err
	}
	if len(found) > 0 {
		return l.adopt(req, found), nil
	}
	return nil, &NotLaunchableError{Reason: ReasonLaunchNotRepeatable,
		Message: "an earlier launch of the NodeClaim with its client token launched no instance, and EC2 will not carry out another"}
}
