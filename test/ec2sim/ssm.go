package ec2sim

import (
	"context"
	"strings"
)

// newSSMAPI serves SSM's GetParameter for the public parameters that name
// the EKS-optimized AMIs, which is how AMI aliases (al2023@latest,
// bottlerocket@v1.44.0, ...) are resolved.
func newSSMAPI(s *Simulator) *jsonProtocol {
	api := &ssmAPI{sim: s}
	return &jsonProtocol{
		target: "AmazonSSM", version: "1.1", messageKey: "message",
		operations: map[string]jsonHandler{"GetParameter": api.getParameter},
	}
}

type ssmAPI struct {
	sim *Simulator
}

type ssmParameter struct {
	Name             string  `json:"Name"`
	Type             string  `json:"Type"`
	Value            string  `json:"Value"`
	Version          int     `json:"Version"`
	LastModifiedDate float64 `json:"LastModifiedDate"`
	ARN              string  `json:"ARN"`
	DataType         string  `json:"DataType"`
}

func (a *ssmAPI) getParameter(_ context.Context, body []byte) (any, error) {
	var in struct {
		Name string `json:"Name"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, clientError("ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	name := in.Name
	if rest, ok := strings.CutPrefix(name, "arn:"); ok {
		// arn:aws:ssm:<region>:<account>:parameter/<name>
		if _, after, ok := strings.Cut(rest, ":parameter"); ok {
			name = after
		}
	}
	// A selector (name:version or name:label) picks a version; each
	// simulated parameter has one.
	if i := strings.LastIndex(name, ":"); i > 0 {
		name = name[:i]
	}
	s := a.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	id, ok := s.world.ssmParameters[name]
	if !ok {
		return nil, clientError("ParameterNotFound", "")
	}
	img := s.world.image(id)
	return struct {
		Parameter ssmParameter `json:"Parameter"`
	}{ssmParameter{
		Name: name, Type: "String", Value: id, Version: 1,
		LastModifiedDate: float64(img.Created.UnixMilli()) / 1000,
		ARN:              "arn:aws:ssm:" + Region + "::parameter" + name,
		DataType:         "aws:ec2:image",
	}}, nil
}
