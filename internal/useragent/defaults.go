package useragent

// Default is one curated rule of the built-in list: a tool that announces
// itself in its User-Agent.
type Default struct {
	// ID is stable: config enables, disables or re-moods a default by it.
	ID string
	// Contains are the substrings that identify the tool.
	Contains []string
	// Off marks tools that many legitimate integrations also use; they are
	// listed so users can turn them on by id, but do not match by default.
	Off bool
	// Note says why the tool is listed.
	Note string
}

// Defaults is the curated list of scanners and abusive tools. Only tools
// that name themselves are here: a User-Agent is trivially forged, so this
// stops the noisy bulk of automated scans, not a determined attacker.
func Defaults() []Default {
	return []Default{
		{ID: "ua-sqlmap", Contains: []string{"sqlmap"}, Note: "SQL injection tool"},
		{ID: "ua-nikto", Contains: []string{"nikto"}, Note: "web server scanner"},
		{ID: "ua-nuclei", Contains: []string{"nuclei", "projectdiscovery"}, Note: "template scanner"},
		{ID: "ua-masscan", Contains: []string{"masscan"}, Note: "port scanner"},
		{ID: "ua-zgrab", Contains: []string{"zgrab"}, Note: "banner grabber"},
		{ID: "ua-nmap", Contains: []string{"nmap scripting engine", "nmap nse"}, Note: "nmap scripts"},
		{ID: "ua-wpscan", Contains: []string{"wpscan"}, Note: "WordPress scanner"},
		{ID: "ua-dirbuster", Contains: []string{"dirbuster"}, Note: "path brute forcer"},
		{ID: "ua-gobuster", Contains: []string{"gobuster"}, Note: "path brute forcer"},
		{ID: "ua-ffuf", Contains: []string{"fuzz faster u fool", "ffuf"}, Note: "fuzzer"},
		{ID: "ua-feroxbuster", Contains: []string{"feroxbuster"}, Note: "path brute forcer"},
		{ID: "ua-acunetix", Contains: []string{"acunetix", "acunetix-product"}, Note: "commercial scanner"},
		{ID: "ua-netsparker", Contains: []string{"netsparker", "invicti"}, Note: "commercial scanner"},
		{ID: "ua-nessus", Contains: []string{"nessus"}, Note: "vulnerability scanner"},
		{ID: "ua-openvas", Contains: []string{"openvas"}, Note: "vulnerability scanner"},
		{ID: "ua-w3af", Contains: []string{"w3af"}, Note: "web attack framework"},
		{ID: "ua-arachni", Contains: []string{"arachni"}, Note: "web scanner"},
		{ID: "ua-jaeles", Contains: []string{"jaeles"}, Note: "web scanner"},
		{ID: "ua-whatweb", Contains: []string{"whatweb"}, Note: "fingerprinter"},
		{ID: "ua-commix", Contains: []string{"commix"}, Note: "command injection tool"},
		{ID: "ua-havij", Contains: []string{"havij"}, Note: "SQL injection tool"},
		{ID: "ua-zmeu", Contains: []string{"zmeu"}, Note: "phpMyAdmin scanner"},
		{ID: "ua-morfeus", Contains: []string{"morfeus"}, Note: "PHP scanner"},
		{ID: "ua-hydra", Contains: []string{"hydra"}, Note: "login brute forcer"},
		{ID: "ua-skipfish", Contains: []string{"skipfish"}, Note: "web scanner"},
		{ID: "ua-wfuzz", Contains: []string{"wfuzz"}, Note: "fuzzer"},
		{ID: "ua-xsstrike", Contains: []string{"xsstrike"}, Note: "XSS scanner"},
		{ID: "ua-censys", Contains: []string{"censysinspect"}, Note: "internet-wide scanner"},
		{ID: "ua-libwww-perl", Contains: []string{"libwww-perl"}, Note: "scripted client common in exploit kits"},
		{ID: "ua-python-requests", Contains: []string{"python-requests"}, Off: true, Note: "many integrations use it"},
		{ID: "ua-go-http-client", Contains: []string{"go-http-client"}, Off: true, Note: "many integrations use it"},
		{ID: "ua-curl", Contains: []string{"curl/"}, Off: true, Note: "health checks and scripts use it"},
		{ID: "ua-wget", Contains: []string{"wget/"}, Off: true, Note: "scripts use it"},
	}
}
