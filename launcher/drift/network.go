package drift

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"k8s.io/utils/clock"

	"github.com/tailor-project/tailor/launcher/awserr"
)

// ErrInstanceNotFound is returned for an instance EC2 does not know.
var ErrInstanceNotFound = errors.New("instance not found")

// Network is where an instance is plugged in.
type Network struct {
	SubnetID string
	// SecurityGroupIDs are sorted.
	SecurityGroupIDs []string
}

// EC2API is the EC2 call Networks makes.
type EC2API interface {
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

var _ EC2API = &ec2.Client{}

// DefaultNetworkTTL is how long an instance's network is remembered. An
// instance's subnet never changes and its security groups rarely do, while
// a change to a class re-judges all its claims at once: remembering spares
// EC2 a burst of calls per change.
const DefaultNetworkTTL = 5 * time.Minute

// Networks describes the networks of instances through EC2, remembering
// each for a while. It is safe for concurrent use.
type Networks struct {
	EC2   EC2API
	Clock clock.PassiveClock
	// TTL is DefaultNetworkTTL when zero.
	TTL time.Duration

	mu    sync.Mutex
	known map[string]remembered
}

type remembered struct {
	network Network
	at      time.Time
}

// Get returns the network of an instance; an error wrapping
// ErrInstanceNotFound when EC2 does not know it.
func (n *Networks) Get(ctx context.Context, id string) (Network, error) {
	now := n.Clock.Now()
	n.mu.Lock()
	r, ok := n.known[id]
	n.mu.Unlock()
	if ok && now.Sub(r.at) < n.ttl() {
		return r.network, nil
	}
	network, err := n.describe(ctx, id)
	if err != nil {
		return Network{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.known == nil {
		n.known = map[string]remembered{}
	}
	// Forget what is stale, terminated instances above all, so that the
	// map holds only the fleet of the last TTL.
	for k, v := range n.known {
		if now.Sub(v.at) >= n.ttl() {
			delete(n.known, k)
		}
	}
	n.known[id] = remembered{network: network, at: now}
	return network, nil
}

func (n *Networks) describe(ctx context.Context, id string) (Network, error) {
	out, err := n.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if awserr.IsNotFound(err) {
		return Network{}, fmt.Errorf("instance %s: %w", id, ErrInstanceNotFound)
	}
	if err != nil {
		return Network{}, fmt.Errorf("describing instance %s: %w", id, awserr.Wrap("ec2", "DescribeInstances", err))
	}
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			if aws.ToString(inst.InstanceId) != id {
				continue
			}
			network := Network{SubnetID: aws.ToString(inst.SubnetId)}
			for _, g := range inst.SecurityGroups {
				network.SecurityGroupIDs = append(network.SecurityGroupIDs, aws.ToString(g.GroupId))
			}
			slices.Sort(network.SecurityGroupIDs)
			return network, nil
		}
	}
	return Network{}, fmt.Errorf("instance %s: %w", id, ErrInstanceNotFound)
}

func (n *Networks) ttl() time.Duration {
	if n.TTL > 0 {
		return n.TTL
	}
	return DefaultNetworkTTL
}
