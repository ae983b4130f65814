// Package aws is the catalog's view of EC2: the instance types of a region,
// the zones that offer each, their on-demand prices from the Pricing API and
// their spot prices, read through aws-sdk-go-v2 and cached.
//
// Everything goes through the standard SDK configuration (credential chain,
// region, AWS_ENDPOINT_URL and per-service endpoint variables), and NewClients
// takes explicit endpoints besides, so that tests and the local cluster can
// point it at an EC2 simulator. The facts are refreshed on different clocks,
// since they change at different speeds: instance types and zones hourly,
// on-demand prices every 12 hours, spot prices every few minutes. A refresh
// that fails keeps serving the last good answer; on-demand prices fall back to
// the table compiled into package catalog when the Pricing API has never
// answered.
package aws
