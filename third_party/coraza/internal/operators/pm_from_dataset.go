// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

//go:build !coraza.disabled_operators.pmFromDataset

package operators

import (
	"fmt"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// Description:
// Performs case-insensitive pattern matching like @pmFromFile but uses an in-memory dataset
// instead of reading from a file. The dataset must be provided at WAF initialization time.
// Uses the Aho-Corasick algorithm for efficient multi-pattern matching.
//
// Arguments:
// Name of the dataset to use for matching. The dataset must be pre-configured and available.
//
// Returns:
// true if any pattern from the dataset is found in the input, false otherwise
//
// Example:
// ```seclang
// # Match against pre-loaded dataset
// SecRule REQUEST_URI "@pmFromDataset blocked_paths" "id:174,deny,log"
//
// # Check user agent against known bot dataset
// SecRule REQUEST_HEADERS:User-Agent "@pmFromDataset bot_signatures" "id:175,deny"
// ```
func newPMFromDataset(options plugintypes.OperatorOptions) (plugintypes.Operator, error) {
	data := options.Arguments
	dataset, ok := options.Datasets[data]
	if !ok {
		return nil, fmt.Errorf("dataset %q not found", data)
	}
	m, _ := memoizeDo(options.Memoizer, data, func() (any, error) { return newPMMatcher(dataset), nil })

	return &pm{matcher: m.(*pmMatcher), minLen: minPatternLen(dataset)}, nil
}

func init() {
	Register("pmFromDataset", newPMFromDataset)
}
