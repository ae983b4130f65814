package ec2sim

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// instanceState is an EC2 instance state: the code and name EC2 reports.
type instanceState struct {
	Code int
	Name string
}

var (
	statePending      = instanceState{0, "pending"}
	stateRunning      = instanceState{16, "running"}
	stateShuttingDown = instanceState{32, "shutting-down"}
	stateTerminated   = instanceState{48, "terminated"}
	stateStopping     = instanceState{64, "stopping"}
	stateStopped      = instanceState{80, "stopped"}
)

// terminatedRetention is how long a terminated instance stays visible to
// DescribeInstances, as in EC2 (about an hour).
const terminatedRetention = time.Hour

// stateReason explains the last state change, as EC2's stateReason does.
type stateReason struct {
	Code    string
	Message string
}

var (
	reasonUserShutdown   = stateReason{"Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown"}
	reasonSpotTerminated = stateReason{"Server.SpotInstanceTermination", "Server.SpotInstanceTermination: Spot instance termination"}
)

// instance is an EC2 instance of the simulated account.
type instance struct {
	ID              string
	ReservationID   string
	Type            *catalog.Info
	Zone            zone
	SubnetID        string
	Image           *image
	PrivateIP       netip.Addr
	State           instanceState
	StateReason     *stateReason
	StateTransition string
	LaunchTime      time.Time
	Spot            bool
	SpotRequestID   string
	// CapacityReservationID is the reservation the instance runs in, if any.
	CapacityReservationID string
	SecurityGroups        []*securityGroup
	Tags                  map[string]string
	// UserData is base64, as EC2 stores and returns it. It may hold
	// secrets and is never logged.
	UserData        string
	TemplateID      string
	TemplateVersion string
	InstanceProfile string
	ClientToken     string
	KeyName         string
	Metadata        metadataOptions
	BlockDevices    []blockDevice
	// VolumeTags are the tags the launch gave its volumes (TagSpecifications
	// of type volume). Volumes are not resources of their own here, so the
	// tags live with the instance, the same on each of its volumes.
	VolumeTags map[string]string
	// PublicIP is the public address the instance got at launch, if any;
	// see publicAddress for when it holds it.
	PublicIP netip.Addr
	// InterfaceDeleteOnTermination is the primary network interface's flag.
	InterfaceDeleteOnTermination bool
	// EFAs is the number of Elastic Fabric Adapters the launch attached;
	// only these reach the node as vpc.amazonaws.com/efa.
	EFAs int32
	// neverJoin is set at launch when a fault says the instance's pool
	// never registers nodes.
	neverJoin bool
	// boot is what the instance's user data tells kubelet; nil until the
	// instance runs, and when the user data could not be read.
	boot         *bootConfig
	terminatedAt time.Time
}

// privateDNSName is the instance's hostname in the VPC, and the name of its
// Node: ip-10-0-1-23.ec2.internal.
func (i *instance) privateDNSName() string {
	return "ip-" + strings.ReplaceAll(i.PrivateIP.String(), ".", "-") + ".ec2.internal"
}

// providerID is how the AWS cloud provider names the instance on its Node.
func (i *instance) providerID() string {
	return fmt.Sprintf("aws:///%s/%s", i.Zone.Name, i.ID)
}

func (i *instance) capacityType() string {
	if i.Spot {
		return "spot"
	}
	return "on-demand"
}

func (i *instance) gone() bool {
	return i.State == stateShuttingDown || i.State == stateTerminated
}

// scheduleBootLocked starts the instance's boot: after the boot delay it runs
// and, as a node would, reads its user data and joins the cluster.
func (s *Simulator) scheduleBootLocked(inst *instance) {
	id := inst.ID
	s.timeline.after(s.opts.BootDelay, func() { s.boot(id) })
}

func (s *Simulator) boot(id string) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	inst, ok := s.world.instances[id]
	if !ok || inst.State != statePending {
		return
	}
	s.setStateLocked(inst, stateRunning)
	log := s.log.WithValues("instance", id, "instanceType", inst.Type.Name, "zone", inst.Zone.Name)
	if inst.neverJoin {
		log.Info("Instance is running and will never join the cluster: a never-join fault matches its pool")
		return
	}
	boot, err := parseUserData(inst.UserData)
	if err == nil && boot.ClusterName != "" && boot.ClusterName != s.world.cluster {
		err = fmt.Errorf("it names a cluster other than the simulated %q", s.world.cluster)
	}
	if err != nil {
		// The error says what was wrong with the user data, never what it holds.
		log.Info("Instance is running but cannot join: its user data is unreadable", "reason", err.Error())
		return
	}
	if s.kubelet == nil {
		log.Info("Instance is running; it would join, but no cluster is attached", "userDataFormat", boot.Format)
		return
	}
	inst.boot = boot
	log.Info("Instance is running and joins the cluster", "node", inst.privateDNSName(), "userDataFormat", boot.Format)
	s.kubelet.enqueue(id)
}

// terminateLocked starts shutting an instance down; it is terminated, and
// its Node removed, after the shutdown delay. It returns the state the
// instance was in.
func (s *Simulator) terminateLocked(inst *instance, reason stateReason) instanceState {
	previous := inst.State
	if inst.gone() {
		return previous
	}
	inst.StateReason = &reason
	inst.StateTransition = fmt.Sprintf("User initiated (%s)", s.clock.Now().UTC().Format("2006-01-02 15:04:05 MST"))
	s.setStateLocked(inst, stateShuttingDown)
	if sn := s.world.subnet(inst.SubnetID); sn != nil {
		sn.release(inst.PrivateIP)
	}
	id := inst.ID
	s.timeline.after(s.opts.ShutdownDelay, func() { s.finishTermination(id) })
	return previous
}

func (s *Simulator) finishTermination(id string) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	inst, ok := s.world.instances[id]
	if !ok || inst.State != stateShuttingDown {
		return
	}
	inst.terminatedAt = s.clock.Now()
	s.setStateLocked(inst, stateTerminated)
	s.log.Info("Instance terminated", "instance", id)
	if s.kubelet != nil {
		s.kubelet.enqueue(id)
	}
	s.timeline.after(terminatedRetention, func() { s.forget(id) })
}

// forget drops a terminated instance, which DescribeInstances stops showing.
func (s *Simulator) forget(id string) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	if inst, ok := s.world.instances[id]; ok && inst.State == stateTerminated {
		delete(s.world.instances, id)
	}
}

// stopLocked stops a running instance as its owner might from the console:
// kubelet stops, so its Node is no longer kept Ready, and after the shutdown
// delay the instance is stopped. Stopped instances are not started again.
func (s *Simulator) stopLocked(inst *instance) error {
	if inst.State != stateRunning && inst.State != statePending {
		return fmt.Errorf("instance %s is %s and cannot be stopped", inst.ID, inst.State.Name)
	}
	inst.StateReason = &reasonUserShutdown
	s.setStateLocked(inst, stateStopping)
	if s.kubelet != nil {
		s.kubelet.enqueue(inst.ID)
	}
	id := inst.ID
	s.timeline.after(s.opts.ShutdownDelay, func() {
		s.world.mu.Lock()
		defer s.world.mu.Unlock()
		if inst, ok := s.world.instances[id]; ok && inst.State == stateStopping {
			s.setStateLocked(inst, stateStopped)
		}
	})
	return nil
}

// setStateLocked moves an instance to a state and, when enabled, tells the
// interruption queue as EventBridge would.
func (s *Simulator) setStateLocked(inst *instance, state instanceState) {
	inst.State = state
	if s.opts.StateChangeEvents {
		s.publish(detailTypeStateChange, sourceEC2, []string{s.world.arn("ec2", "instance/"+inst.ID)},
			stateChangeDetail{InstanceID: inst.ID, State: state.Name})
	}
}
