package manager

import (
	"context"
	"errors"
	"time"

	"github.com/tailor-project/tailor/launcher/fleet"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/metrics"
)

// The launcher's calls to AWS on a claim's behalf are what Karpenter's
// CloudProvider methods are; they are measured as those, per controller,
// so that karpenter_cloudprovider_* mean the same here.

// errorKind is Karpenter's error label for the errors the launcher tells
// apart; any other is "".
func errorKind(err error) string {
	var notLaunchable *fleet.NotLaunchableError
	switch {
	case errors.As(err, &notLaunchable) && notLaunchable.Reason == fleet.ReasonInsufficientCapacity:
		return "InsufficientCapacityError"
	case errors.Is(err, instance.ErrNotFound):
		return "NodeClaimNotFoundError"
	default:
		return ""
	}
}

// measuredLauncher is a fleet launcher whose launches are measured as
// Create.
type measuredLauncher struct {
	controller string
	launcher   *fleet.Launcher
}

func (m measuredLauncher) Launch(ctx context.Context, req fleet.Request) (*fleet.Result, error) {
	start := time.Now()
	res, err := m.launcher.Launch(ctx, req)
	metrics.CloudProviderCall(m.controller, "Create", start, err, errorKind)
	return res, err
}

// measuredInstances is an instance provider whose calls are measured as
// Get, List and Delete.
type measuredInstances struct {
	controller string
	instances  *instance.Provider
}

func (m measuredInstances) Get(ctx context.Context, id string) (*instance.Instance, error) {
	start := time.Now()
	inst, err := m.instances.Get(ctx, id)
	metrics.CloudProviderCall(m.controller, "Get", start, err, errorKind)
	return inst, err
}

func (m measuredInstances) ForNodeClaim(ctx context.Context, nodeClaim string) ([]*instance.Instance, error) {
	start := time.Now()
	insts, err := m.instances.ForNodeClaim(ctx, nodeClaim)
	metrics.CloudProviderCall(m.controller, "List", start, err, errorKind)
	return insts, err
}

func (m measuredInstances) List(ctx context.Context) ([]*instance.Instance, error) {
	start := time.Now()
	insts, err := m.instances.List(ctx)
	metrics.CloudProviderCall(m.controller, "List", start, err, errorKind)
	return insts, err
}

func (m measuredInstances) Terminate(ctx context.Context, id string) error {
	start := time.Now()
	err := m.instances.Terminate(ctx, id)
	metrics.CloudProviderCall(m.controller, "Delete", start, err, errorKind)
	return err
}
