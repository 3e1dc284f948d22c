package findings

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// MergeConfig applies changes to a parapet.yaml (empty: a new file) and
// returns the new text. Keys already set to the same value are left
// alone; comments and the order of keys are kept.
func MergeConfig(old []byte, changes []Change) ([]byte, error) {
	var doc yaml.Node
	if len(bytes.TrimSpace(old)) > 0 {
		if err := yaml.Unmarshal(old, &doc); err != nil {
			return nil, fmt.Errorf("reading the config: %w", err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		if doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" {
			doc.Content[0] = &yaml.Node{Kind: yaml.MappingNode}
		} else {
			return nil, fmt.Errorf("the config is not a YAML mapping")
		}
	}
	changed := false
	for _, c := range changes {
		if applyChange(doc.Content[0], c) {
			changed = true
		}
	}
	if !changed {
		return old, nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// applyChange sets c in the mapping m; it reports whether anything changed.
func applyChange(m *yaml.Node, c Change) bool {
	node := m
	for i, key := range c.Path {
		if node.Kind != yaml.MappingNode {
			return false
		}
		var val *yaml.Node
		for j := 0; j+1 < len(node.Content); j += 2 {
			if node.Content[j].Value == key {
				val = node.Content[j+1]
				break
			}
		}
		last := i == len(c.Path)-1
		if val == nil {
			val = &yaml.Node{Kind: yaml.MappingNode}
			if last {
				val = valueNode(c.Value)
				if c.AppendKey != "" {
					val = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{valueNode(c.Value)}}
				}
			}
			node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, val)
			if last {
				return true
			}
			node = val
			continue
		}
		if !last {
			node = val
			continue
		}
		if c.AppendKey != "" {
			if val.Kind != yaml.SequenceNode {
				*val = yaml.Node{Kind: yaml.SequenceNode}
			}
			want := fmt.Sprint(c.Value.(map[string]any)[c.AppendKey])
			for _, item := range val.Content {
				for j := 0; j+1 < len(item.Content); j += 2 {
					if item.Content[j].Value == c.AppendKey && item.Content[j+1].Value == want {
						return false
					}
				}
			}
			val.Style = 0 // [] becomes a block list
			val.Content = append(val.Content, valueNode(c.Value))
			return true
		}
		nv := valueNode(c.Value)
		if sameNode(val, nv) {
			return false
		}
		nv.HeadComment, nv.LineComment, nv.FootComment = val.HeadComment, val.LineComment, val.FootComment
		*val = *nv
		return true
	}
	return false
}

func valueNode(v any) *yaml.Node {
	var n yaml.Node
	_ = n.Encode(v)
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 && n.Content[0].Kind == yaml.ScalarNode {
		n.Style = yaml.FlowStyle
	}
	return &n
}

func sameNode(a, b *yaml.Node) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == yaml.ScalarNode {
		return a.Value == b.Value
	}
	if len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// DiffLine is one line of a line diff: Kind ' ' (in both), '-' (only in
// a) or '+' (only in b), and the line's index in a (A) and in b (B) where
// it stands.
type DiffLine struct {
	Kind byte
	Text string
	A, B int
}

// Diff is the line diff of a and b (every line of both, in order), from
// their longest common subsequence.
func Diff(a, b string) []DiffLine {
	la, lb := lines(a), lines(b)
	n, m := len(la), len(lb)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if la[i] == lb[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []DiffLine
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && la[i] == lb[j]:
			ops = append(ops, DiffLine{' ', la[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, DiffLine{'-', la[i], i, j})
			i++
		default:
			ops = append(ops, DiffLine{'+', lb[j], i, j})
			j++
		}
	}
	return ops
}

// UnifiedDiff returns a unified diff (3 lines of context) of a and b, or
// "" when they are equal.
func UnifiedDiff(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	ops := Diff(a, b)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	const ctx = 3
	for k := 0; k < len(ops); {
		if ops[k].Kind == ' ' {
			k++
			continue
		}
		start := max(0, k-ctx)
		end := k
		for end < len(ops) {
			if ops[end].Kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].Kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		aCount, bCount := 0, 0
		for _, o := range ops[start:end] {
			if o.Kind != '+' {
				aCount++
			}
			if o.Kind != '-' {
				bCount++
			}
		}
		aStart, bStart := ops[start].A+1, ops[start].B+1
		if aCount == 0 {
			aStart--
		}
		if bCount == 0 {
			bStart--
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", aStart, aCount, bStart, bCount)
		for _, o := range ops[start:end] {
			fmt.Fprintf(&out, "%c%s\n", o.Kind, o.Text)
		}
		k = end
	}
	return out.String()
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
