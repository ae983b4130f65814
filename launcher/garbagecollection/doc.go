// Package garbagecollection finds what the launcher's controllers cannot
// see from any one object, by comparing EC2 with the API server now and
// then:
//
//   - instances tagged for the cluster that no NodeClaim accounts for are
//     terminated: they cost money and run nothing the scheduler knows of
//     (a claim deleted while the launcher was down, a duplicate launch);
//   - NodeClaims whose instance is gone (terminated behind the launcher's
//     back, or by a spot interruption it missed) are deleted, so that the
//     scheduler finds their pods new capacity;
//   - Nodes with an EC2 provider id that Tailor linked to a NodeClaim which
//     no longer exists are deleted, which drains them and terminates their
//     instance.
//
// Instances and objects younger than a grace period are left alone, since a
// launch in flight or a cache that has not caught up looks the same as a
// leak for a moment.
package garbagecollection
