package termination

import (
	"context"
	"errors"

	"github.com/tailor-project/tailor/launcher/instance"
)

// Instances finds and terminates instances: *instance.Provider.
type Instances interface {
	Get(ctx context.Context, id string) (*instance.Instance, error)
	ForNodeClaim(ctx context.Context, nodeClaim string) ([]*instance.Instance, error)
	Terminate(ctx context.Context, id string) error
}

// terminate asks EC2 to terminate the instance unless it is on its way
// already, and reports whether it is gone (shutting down or terminated).
func terminate(ctx context.Context, instances Instances, id string) (gone bool, err error) {
	inst, err := instances.Get(ctx, id)
	if errors.Is(err, instance.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if inst.Gone() {
		return true, nil
	}
	return false, instances.Terminate(ctx, id)
}
