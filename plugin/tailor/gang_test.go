package tailor_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	schedulingv1alpha1 "sigs.k8s.io/scheduler-plugins/apis/scheduling/v1alpha1"

	"github.com/tailor-project/tailor/plugin/gang"
	"github.com/tailor-project/tailor/plugin/tailor"
)

// TestGangTimeout: a gang gets nothing while short of minMember pods; once
// whole it gets its claims; when it has not started within its PodGroup's
// scheduleTimeoutSeconds (here no claim ever launches), the claims are
// withdrawn, the pods told why, and nothing is bought for the gang again
// before as long again has passed.
func TestGangTimeout(t *testing.T) {
	const timeout = 4 * time.Second
	config := strings.Replace(schedulerConfig, "      catalog:", "      reservationResyncPeriod: 1s\n      catalog:", 1)
	e := newEnvWith(t, config, "01-nodepool-basic.yaml")
	if err := e.client.Create(e.ctx, &schedulingv1alpha1.PodGroup{
		ObjectMeta: metav1.ObjectMeta{Name: "train", Namespace: "default"},
		Spec:       schedulingv1alpha1.PodGroupSpec{MinMember: 3, ScheduleTimeoutSeconds: ptr.To[int32](int32(timeout / time.Second))},
	}); err != nil {
		t.Fatal(err)
	}
	inGang := func(p *corev1.Pod) { p.Labels[gang.Label] = "train" }

	first := e.pods("train-a", 2, "1", inGang)
	e.event(first[0], tailor.ReasonWaitingForGang, "has 2 of its minMember 3 pods")
	if claims := e.claims(); len(claims) > 0 {
		t.Fatalf("NodeClaim %s was created for a gang short of minMember", claims[0].Name)
	}

	last := e.pods("train-b", 1, "1", inGang)
	pods := append(first, last...)
	claims := e.claimsFor(pods)
	bought := time.Now()
	t.Logf("the whole gang got %d NodeClaims", len(claims))

	for _, nc := range claims {
		e.gone(nc.Name, "NodeClaim %s of a gang that did not start in time was not withdrawn")
	}
	if waited := time.Since(bought); waited < timeout {
		t.Errorf("the gang's NodeClaims went after %s, before its timeout of %s", waited, timeout)
	}
	for _, p := range pods {
		e.event(p, tailor.ReasonGangTimedOut, "gang default/train did not start within its scheduleTimeoutSeconds (4s)")
	}
	// Not bought again at once: the gang backs off for as long again.
	time.Sleep(timeout / 2)
	if claims := e.claims(); len(claims) > 0 {
		t.Errorf("NodeClaim %s was bought again for the gang at once", claims[0].Name)
	}
	again := e.claimsFor(pods)
	t.Logf("bought again after the backoff: %d NodeClaims", len(again))
}
