package e2e

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	toolscache "k8s.io/client-go/tools/cache"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/tags"
	"github.com/tailor-project/tailor/plugin/reservation"
	"github.com/tailor-project/tailor/plugin/tailor"
)

// purchases watches every version of every NodeClaim for the length of a
// test, so that a claim bought twice is seen even if one of the two is gone
// by the time the test looks: a pod may be reserved (annotation
// tailor.sh/reserved-for) on one live claim at a time.
type purchases struct {
	mu sync.Mutex
	// live maps each live claim to the pods it is reserved for.
	live map[string]sets.Set[types.UID]
	// names are the pods' names, for messages.
	names map[types.UID]string
	// seen is every claim that ever existed, reserved those that were ever
	// reserved for a pod.
	seen, reserved sets.Set[string]
	// doubles describe each pod seen reserved on two live claims at once,
	// once per pod and pair of claims.
	doubles []string
	said    sets.Set[string]
	// reported is how many of doubles a check has already reported.
	reported int
	// created, when set, is told of each claim as it appears.
	created func(*karpv1.NodeClaim)
}

// watchPurchases starts watching NodeClaims until the test ends.
func (e *env) watchPurchases() *purchases {
	e.t.Helper()
	p := &purchases{live: map[string]sets.Set[types.UID]{}, names: map[types.UID]string{}, seen: sets.New[string](), reserved: sets.New[string](), said: sets.New[string]()}
	scheme, err := tailor.Scheme()
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := ctrlcache.New(e.cluster.Config, ctrlcache.Options{Scheme: scheme})
	if err != nil {
		e.t.Fatal(err)
	}
	inf, err := c.GetInformer(e.ctx, &karpv1.NodeClaim{})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			p.observe(obj, false)
			p.mu.Lock()
			created := p.created
			p.mu.Unlock()
			if nc, ok := obj.(*karpv1.NodeClaim); ok && created != nil {
				created(nc)
			}
		},
		UpdateFunc: func(_, obj any) { p.observe(obj, false) },
		DeleteFunc: func(obj any) { p.observe(obj, true) },
	}); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		if err := c.Start(e.ctx); err != nil {
			e.t.Errorf("watching NodeClaims: %v", err)
		}
	}()
	if !c.WaitForCacheSync(e.ctx) {
		e.t.Fatal("the NodeClaim watch did not sync")
	}
	return p
}

func (p *purchases) observe(obj any, deleted bool) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	nc, ok := obj.(*karpv1.NodeClaim)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen.Insert(nc.Name)
	// A claim on its way out no longer holds room for anyone: the pods it
	// was bought for may be provided for again.
	if deleted || nc.DeletionTimestamp != nil {
		delete(p.live, nc.Name)
		return
	}
	pods, err := reservation.Decode(nc.Annotations[reservation.Annotation])
	if err != nil {
		p.doubles = append(p.doubles, fmt.Sprintf("NodeClaim %s: %v", nc.Name, err))
		return
	}
	uids := sets.New[types.UID]()
	for _, pod := range pods {
		uids.Insert(pod.UID)
		p.names[pod.UID] = pod.Namespace + "/" + pod.Name
	}
	p.live[nc.Name] = uids
	if uids.Len() > 0 {
		p.reserved.Insert(nc.Name)
	}
	for other, theirs := range p.live {
		if other == nc.Name {
			continue
		}
		for _, uid := range sets.List(uids.Intersection(theirs)) {
			pair := []string{other, nc.Name}
			sort.Strings(pair)
			if key := string(uid) + "/" + strings.Join(pair, "/"); !p.said.Has(key) {
				p.said.Insert(key)
				p.doubles = append(p.doubles, fmt.Sprintf("pod %s (%s) is reserved on NodeClaims %s and %s at once", p.names[uid], uid, pair[0], pair[1]))
			}
		}
	}
}

// whenCreated sets what to do as each new claim appears; nil stops it.
func (p *purchases) whenCreated(f func(*karpv1.NodeClaim)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.created = f
}

// reservedNow is every pod reserved on a live claim now.
func (p *purchases) reservedNow() sets.Set[types.UID] {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := sets.New[types.UID]()
	for _, uids := range p.live {
		out = out.Union(uids)
	}
	return out
}

// claimsSeen is every claim that existed since the watch started.
func (p *purchases) claimsSeen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return sets.List(p.seen)
}

// neverReserved lists the claims never seen reserved for a pod: the
// scheduler buys nothing for no one, so the watch would miss what it
// checks if it saw such a claim.
func (p *purchases) neverReserved() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return sets.List(p.seen.Difference(p.reserved))
}

// boughtTwice lists the pods seen reserved on two live claims at once
// since it was last called, so each is reported by the check that follows
// it, once.
func (p *purchases) boughtTwice() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]string(nil), p.doubles[p.reported:]...)
	p.reported = len(p.doubles)
	return out
}

// instancesByClaim groups every instance EC2 knows, in any state, by the
// NodeClaim its tags name; instances without one are under "".
func (e *env) instancesByClaim() map[string][]ec2types.Instance {
	e.t.Helper()
	client := ec2.NewFromConfig(e.cluster.AWS)
	out := map[string][]ec2types.Instance{}
	pages := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(e.ctx)
		if err != nil {
			e.t.Fatalf("describing the simulated instances: %v", err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				claim := ""
				for _, tag := range inst.Tags {
					if aws.ToString(tag.Key) == tags.NodeClaim {
						claim = aws.ToString(tag.Value)
					}
				}
				out[claim] = append(out[claim], inst)
			}
		}
	}
	return out
}

// nothingBoughtTwice checks, once the system has settled, what a crash
// must never cost: no pod was reserved on two claims at once, no claim got
// more than one instance, every instance belongs to a claim, and there are
// exactly as many live instances as claims.
func (e *env) nothingBoughtTwice(p *purchases) {
	e.t.Helper()
	for _, d := range p.boughtTwice() {
		e.t.Errorf("bought twice: %s", d)
	}
	if none := p.neverReserved(); len(none) > 0 {
		e.t.Errorf("NodeClaims %v were never reserved for a pod (annotation %s)", none, reservation.Annotation)
	}
	e.noOrphanInstances()
	byClaim := e.instancesByClaim()
	for _, name := range p.claimsSeen() {
		if insts := byClaim[name]; len(insts) > 1 {
			ids := make([]string, len(insts))
			for i, inst := range insts {
				ids[i] = fmt.Sprintf("%s (%s)", aws.ToString(inst.InstanceId), inst.State.Name)
			}
			e.t.Errorf("NodeClaim %s was launched %d times: %s", name, len(insts), strings.Join(ids, ", "))
		}
	}
	if untagged := byClaim[""]; len(untagged) > 0 {
		e.t.Errorf("%d instances name no NodeClaim", len(untagged))
	}
	e.eventually("there is one live instance per NodeClaim", func() (bool, error) {
		claims, err := e.claims()
		if err != nil {
			return false, err
		}
		liveIDs := sets.New[string]()
		for _, inst := range e.cluster.Simulator.Instances() {
			if live(inst.State) {
				liveIDs.Insert(inst.ID)
			}
		}
		owned := instanceIDs(claims)
		if liveIDs.Len() != len(claims) || !owned.Equal(liveIDs) {
			names := make([]string, len(claims))
			for i, nc := range claims {
				names[i] = nc.Name
			}
			return false, fmt.Errorf("%d live instances %v for %d NodeClaims %v, which hold %v",
				liveIDs.Len(), sets.List(liveIDs), len(claims), names, sets.List(owned))
		}
		return true, nil
	})
}
