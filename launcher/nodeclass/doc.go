// Package nodeclass resolves EC2NodeClasses: it turns a class's selector
// terms into the subnets, security groups and AMIs they select, makes (or
// checks) the instance profile its nodes run with, and publishes all of it in
// the class's status with a condition for each part, so that a launch reads
// everything it needs from the status and a person reads there why a class
// is not Ready ("no subnet matches tags karpenter.sh/discovery=my-cluster").
//
// The status is refreshed periodically as well as on every change of the
// class, because what the selectors select changes without the class
// changing: a new AMI is published under an alias, a subnet runs out of
// addresses, someone tags another security group.
//
// A finalizer keeps a class that NodeClaims still use from going away under
// their nodes; when the last of them is gone, the launch templates and the
// instance profile Tailor made for the class are deleted with it.
package nodeclass
