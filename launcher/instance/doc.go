// Package instance is the launcher's view of the EC2 instances it runs: an
// instance's id, type, zone, capacity type and state, found by id, by the
// NodeClaim it was launched for, or as the list of everything Tailor runs for
// the cluster; and terminated again. It also spells and reads the provider
// ids (aws:///<zone>/<instance-id>) by which Nodes and NodeClaims name their
// instance.
package instance
