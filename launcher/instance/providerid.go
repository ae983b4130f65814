package instance

import (
	"fmt"
	"strings"
)

// providerIDPrefix starts the provider id of every EC2 instance, as the AWS
// cloud provider writes it on Nodes.
const providerIDPrefix = "aws:///"

// ProviderID spells the provider id of an instance in a zone.
func ProviderID(zone, id string) string {
	return providerIDPrefix + zone + "/" + id
}

// ParseProviderID returns the instance id in a provider id. Both forms the
// AWS cloud provider has written are read: aws:///<zone>/<id> and the older
// aws:///<id>.
func ParseProviderID(providerID string) (string, error) {
	rest, ok := strings.CutPrefix(providerID, providerIDPrefix)
	if !ok {
		return "", fmt.Errorf("provider id %q does not start with %s", providerID, providerIDPrefix)
	}
	parts := strings.Split(rest, "/")
	id := parts[len(parts)-1]
	if len(parts) > 2 || !strings.HasPrefix(id, "i-") || len(id) < len("i-")+8 {
		return "", fmt.Errorf("provider id %q does not name an EC2 instance (want aws:///<zone>/i-...)", providerID)
	}
	return id, nil
}

// IsEC2 reports whether a provider id names an EC2 instance.
func IsEC2(providerID string) bool {
	_, err := ParseProviderID(providerID)
	return err == nil
}
