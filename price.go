package ragd

import "fmt"

// Price is what one model costs, in credits: ragd's unit of account,
// whatever currency or quota the operator prices in. Responses report
// what each request cost (x-credits-used) and /v1/usage sums it.
type Price struct {
	// InputPer1K is the cost of 1000 input tokens: prompt tokens of a
	// chat model, tokens read by an embedding or rerank model.
	InputPer1K float64 `yaml:"input_per_1k" json:"input_per_1k"`
	// OutputPer1K is the cost of 1000 completion tokens.
	OutputPer1K float64 `yaml:"output_per_1k" json:"output_per_1k"`
	// PerRequest is the cost of each request that uses the model, whatever
	// its tokens (the price of media models, whose output is no tokens).
	PerRequest float64 `yaml:"per_request" json:"per_request"`
}

// Credits returns the cost of one request that used the model for input
// and output tokens.
func (p Price) Credits(input, output int) float64 {
	return float64(input)/1000*p.InputPer1K + float64(output)/1000*p.OutputPer1K + p.PerRequest
}

// Validate returns an EINVALID *Error naming the field when a price is
// negative.
func (p Price) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"input_per_1k", p.InputPer1K}, {"output_per_1k", p.OutputPer1K}, {"per_request", p.PerRequest}} {
		if f.v < 0 {
			return Invalid("price."+f.name, "price.%s must not be negative, got %s", f.name, fmt.Sprint(f.v))
		}
	}
	return nil
}
