package v1

// NodeClaim condition types.
const (
	ConditionTypeLaunched             = "Launched"
	ConditionTypeRegistered           = "Registered"
	ConditionTypeInitialized          = "Initialized"
	ConditionTypeReady                = "Ready"
	ConditionTypeDrifted              = "Drifted"
	ConditionTypeConsolidatable       = "Consolidatable"
	ConditionTypeDisrupting           = "Disrupting"
	ConditionTypeDisruptionReason     = "DisruptionReason"
	ConditionTypeExpired              = "Expired"
	ConditionTypeInstanceTerminating  = "InstanceTerminating"
	ConditionTypeConsistentStateFound = "ConsistentStateFound"
	ConditionTypeVolumesDetached      = "VolumesDetached"
	// ConditionTypeInterrupted is Tailor's: AWS said the claim's instance
	// is going away (a spot interruption warning, a scheduled change, a
	// stop or termination behind the launcher's back). The launcher sets it
	// before it deletes the claim; the scheduler plugin reads it to place
	// the node's pods at once. Its reason is one of the Interrupted reasons.
	ConditionTypeInterrupted = "Interrupted"
)

// Reasons of the Interrupted condition, which are also the reasons of the
// events the launcher records on the claim and its node.
const (
	InterruptedReasonSpotInterruption   = "SpotInterruption"
	InterruptedReasonScheduledChange    = "ScheduledChange"
	InterruptedReasonInstanceStopping   = "InstanceStopping"
	InterruptedReasonInstanceTerminated = "InstanceTerminated"
)

// NodePool condition types.
const (
	ConditionTypeValidationSucceeded = "ValidationSucceeded"
	ConditionTypeNodeClassReady      = "NodeClassReady"
)
