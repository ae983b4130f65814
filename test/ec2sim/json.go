package ec2sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxJSONBody bounds an awsJson request; an SQS message is at most 256 KiB.
const maxJSONBody = 1 << 20

// jsonHandler answers one awsJson operation: it decodes its input from body
// and returns the output to encode, or an error.
type jsonHandler func(ctx context.Context, body []byte) (any, error)

// jsonProtocol serves an API of the awsJson 1.0 or 1.1 protocol (SQS, SSM,
// Pricing): every request is a POST of a JSON document, the X-Amz-Target
// header names the operation, and errors are JSON with a __type.
type jsonProtocol struct {
	// target is the prefix of X-Amz-Target: AmazonSQS, AmazonSSM, AWSPriceListService.
	target  string
	version string
	// errorNamespace prefixes __type, as services whose model namespace
	// differs from their target write it (com.amazonaws.sqs#).
	errorNamespace string
	// messageKey is the member that carries an error's message: the SDK's
	// typed errors decode it by exact name, "message" or "Message".
	messageKey string
	// queryCompatible services (SQS) also report the legacy awsQuery code in
	// x-amzn-query-error to clients that ask with x-amzn-query-mode.
	queryCompatible bool
	operations      map[string]jsonHandler
}

func (p *jsonProtocol) serve(w http.ResponseWriter, r *http.Request, requestID string) (operation string) {
	target := r.Header.Get("X-Amz-Target")
	prefix, operation, ok := strings.Cut(target, ".")
	if !ok || prefix != p.target {
		p.writeError(w, r, requestID, clientError("UnknownOperationException", "The X-Amz-Target %q names no operation of %s", target, p.target))
		return target
	}
	handler, ok := p.operations[operation]
	if !ok {
		p.writeError(w, r, requestID, clientError("UnknownOperationException", "%s is not an operation of %s in this simulator", operation, p.target))
		return operation
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err == nil && len(body) > maxJSONBody {
		err = fmt.Errorf("the body is larger than %d bytes", maxJSONBody)
	}
	if err != nil {
		p.writeError(w, r, requestID, clientError("SerializationException", "Reading the request: %v", err))
		return operation
	}
	out, err := handler(r.Context(), body)
	if err != nil {
		p.writeError(w, r, requestID, asAPIError(err))
		return operation
	}
	data, err := json.Marshal(out)
	if err != nil {
		p.writeError(w, r, requestID, errInternal(fmt.Errorf("encoding the %s output: %w", operation, err)))
		return operation
	}
	send(w, http.StatusOK, requestID, "application/x-amz-json-"+p.version, data)
	return operation
}

func (p *jsonProtocol) writeError(w http.ResponseWriter, r *http.Request, requestID string, e *apiError) {
	body, _ := json.Marshal(map[string]string{"__type": p.errorNamespace + e.Code, p.messageKey: e.Message})
	if p.queryCompatible && r.Header.Get("X-Amzn-Query-Mode") == "true" {
		code, fault := e.Code, "Receiver"
		if e.QueryCode != "" {
			code = e.QueryCode
		}
		if e.sender() {
			fault = "Sender"
		}
		w.Header().Set("x-amzn-query-error", code+";"+fault)
	}
	send(w, e.Status, requestID, "application/x-amz-json-"+p.version, body)
}

// decodeJSON reads an operation's input. Unknown members are ignored, as
// the services do, so that newer SDKs keep working.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return clientError("SerializationException", "The request body is not the expected JSON: %v", err)
	}
	return nil
}
