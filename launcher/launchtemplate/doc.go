// Package launchtemplate keeps the EC2 launch templates instances are
// launched from: one per distinct content (node class, AMI, user data,
// security groups, instance profile, block devices, metadata options, tags).
//
// A template is named after a hash of its content, so that launching the
// same thing twice finds the template made the first time, by this process
// or an earlier one, and a changed class makes a new template instead of a
// new version whose rollout would have to be tracked. Templates are tagged
// with the cluster and the node class, so that deleting the class deletes
// them too.
package launchtemplate
