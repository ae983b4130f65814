package manager_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/instance"
)

// errKilled is what the launcher sees instead of CreateFleet's answer: the
// answer is lost with the process.
var errKilled = errors.New("the launcher was killed before it read CreateFleet's answer")

// killAfterCreateFleet returns an EC2 client whose first successful
// CreateFleet stops the launcher, as if its process died right after EC2
// launched the instance and before the claim recorded it.
func killAfterCreateFleet(e *env, killed chan<- struct{}) (*ec2.Client, func(context.CancelFunc)) {
	var once sync.Once
	var stop context.CancelFunc
	kill := middleware.InitializeMiddlewareFunc("KillAfterCreateFleet", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleInitialize(ctx, in)
		if err != nil || middleware.GetOperationName(ctx) != "CreateFleet" {
			return out, md, err
		}
		once.Do(func() {
			stop()
			close(killed)
		})
		return middleware.InitializeOutput{}, md, errKilled
	})
	client := ec2.NewFromConfig(e.aws, func(o *ec2.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(kill, middleware.After)
		})
	})
	return client, func(cancel context.CancelFunc) { stop = cancel }
}

// TestRestartAfterCreateFleet: a launcher killed between CreateFleet and
// recording the instance on the claim is restarted; the claim gets the
// instance launched before, and exactly one instance exists for it.
func TestRestartAfterCreateFleet(t *testing.T) {
	e := newEnv(t)
	killed := make(chan struct{})
	client, setStop := killAfterCreateFleet(e, killed)
	first := e.startLauncher(launcherConfig{ec2: client, cancel: setStop})
	e.readyClass(nodeClass("default"))
	claim := nodeClaim("restart", "default", onDemandCOrM...)
	e.create(claim)

	select {
	case <-killed:
	case <-e.ctx.Done():
		t.Fatal("the launcher never called CreateFleet")
	}
	first.stop()
	launchedBefore := e.liveInstancesOf(claim.Name)
	if len(launchedBefore) != 1 {
		t.Fatalf("%d instances after the killed launch, want the 1 CreateFleet launched", len(launchedBefore))
	}
	if err := e.kube.Get(e.ctx, clientKey(claim), claim); err != nil {
		t.Fatal(err)
	}
	if claim.Status.ProviderID != "" {
		t.Fatalf("the killed launcher recorded %s on the claim; the test did not kill it in time", claim.Status.ProviderID)
	}

	second := e.startLauncher(launcherConfig{})
	e.claimCondition(claim, karpv1.ConditionTypeRegistered, metav1.ConditionTrue)
	id, err := instance.ParseProviderID(claim.Status.ProviderID)
	if err != nil {
		t.Fatal(err)
	}
	if want := *launchedBefore[0].InstanceId; id != want {
		t.Errorf("claim has instance %s, want %s, which the killed launcher launched", id, want)
	}
	if all := e.instancesOf(claim.Name); len(all) != 1 {
		t.Errorf("%d instances exist for the claim, want exactly 1", len(all))
	}
	e.running(second)
}
