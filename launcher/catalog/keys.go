package catalog

import (
	"encoding/json"
	"hash/fnv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// objectKey identifies one version of a NodePool's or EC2NodeClass's spec.
// The API server bumps metadata.generation on every spec change, so name,
// UID and generation identify a stored object's spec without reading it. An
// object that never went through an API server (read from a file, built in a
// test) has no UID and a generation that says nothing; its spec is hashed.
type objectKey struct {
	name       string
	uid        types.UID
	generation int64
	content    uint64
}

func keyOf(meta *metav1.ObjectMeta, spec any) (objectKey, error) {
	key := objectKey{name: meta.Name, uid: meta.UID, generation: meta.Generation}
	if meta.UID != "" {
		return key, nil
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return objectKey{}, err
	}
	h := fnv.New64a()
	h.Write(raw)
	key.content = h.Sum64()
	return key, nil
}

func poolKeyOf(np *karpv1.NodePool) (objectKey, error) {
	return keyOf(&np.ObjectMeta, &np.Spec.Template)
}

// classKeyOf keys a node class; a nil class, the defaults, has the zero key.
func classKeyOf(nc *ec2v1.EC2NodeClass) (objectKey, error) {
	if nc == nil {
		return objectKey{}, nil
	}
	return keyOf(&nc.ObjectMeta, &nc.Spec)
}

// subnetZones fingerprints the zones of a node class's resolved subnets,
// which limit where its nodes can go, and its capacity reservations, which
// add offerings (by id, type, zone, reservation type and state). They live in the status, which does not bump the
// generation, so they are hashed on every lookup; the hash is of a handful
// of short strings and does not allocate.
func subnetZones(nc *ec2v1.EC2NodeClass) uint64 {
	if nc == nil || len(nc.Status.Subnets) == 0 && len(nc.Status.CapacityReservations) == 0 {
		return 0
	}
	h := uint64(fnvOffset64)
	for i := range nc.Status.Subnets {
		h = fnvAdd(h, nc.Status.Subnets[i].Zone)
	}
	for i := range nc.Status.CapacityReservations {
		cr := &nc.Status.CapacityReservations[i]
		h = fnvAdd(fnvAdd(fnvAdd(h, cr.ID), cr.InstanceType), cr.AvailabilityZone)
		// The type labels the offering; an expiring block offers nothing.
		h = fnvAdd(fnvAdd(h, cr.ReservationType), cr.State)
	}
	return h
}

// FNV-1a, inline: hash/fnv would allocate its state on every lookup.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// fnvAdd hashes s and a terminator into h, so that ["ab"] and ["a", "b"]
// differ.
func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime64
	}
	return (h ^ 0xff) * fnvPrime64
}
