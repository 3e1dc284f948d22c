package detect

// proxyRules adjust the CRS to what Parapet's proxy does. Parapet
// answers "Expect: 100-continue" itself (Go's server sends the interim
// 100 when detection reads the body) and never forwards the header: the
// proxy sends the app a body it already holds (internal/proxy drops
// Expect). So the header is no risk behind Parapet, and CRS 920450,
// which restricts it, blocked every curl upload over 1 MB (curl sends it
// for large bodies).
const proxyRules = `
SecRuleUpdateTargetById 920450 "!REQUEST_HEADERS_NAMES:expect"
`
