package reservation

import "k8s.io/apimachinery/pkg/types"

// PodState is what the cluster says of a pod that may hold a reservation.
type PodState int

const (
	// PodPending: the pod exists, is not being deleted and has no node.
	PodPending PodState = iota
	// PodBound: the pod has a node.
	PodBound
	// PodGone: the pod was deleted, is being deleted, finished, or was
	// replaced by another pod of the same name.
	PodGone
)

// Settle brings a pod's reservation in line with what the cluster says of
// the pod. A pending pod keeps it; a pod bound to its claim's node has used
// it; a pod bound elsewhere, or gone, no longer needs it. It returns the
// claim released and whether that claim is left unused, so the caller can
// withdraw it; "" when nothing was released.
//
// This is what keeps the ledger honest when a pod binds elsewhere between
// the batch reading it pending and the ledger recording its reservation: the
// plugin settles each pod right after reserving, on every pod update, and on
// every resync.
func (l *Ledger) Settle(uid types.UID, state PodState, boundToClaim string) (claimName string, unused bool) {
	r, ok := l.Of(uid)
	if !ok {
		return "", false
	}
	switch {
	case state == PodPending:
		return "", false
	case state == PodBound && boundToClaim == r.Claim:
		l.Consume(uid)
		return "", false
	default:
		return l.Release(uid)
	}
}
