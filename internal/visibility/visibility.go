// Package visibility wires what lets operators see and steer a running
// Parapet into its runtime: the event log (internal/eventlog) as a sink,
// the admin API (internal/admin) with the event log's query and stats
// endpoints, and the dashboard (internal/dashboard) at /_parapet/ui/.
package visibility

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"

	"github.com/parapet-waf/parapet/internal/admin"
	"github.com/parapet-waf/parapet/internal/dashboard"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/eventlog"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/runtime"
	"github.com/parapet-waf/parapet/internal/waf"
)

// Rule ids of the dashboard's routes in events.
const (
	// RuleUI is the dashboard's own pages (and their refusal on the app's
	// origin).
	RuleUI = "admin-ui"
	// RuleAdminHost is a path other than Parapet's own asked of admin.host.
	RuleAdminHost = "admin-host"
)

// serveUI serves the dashboard on the public port: on admin.host only.
// On the app's own hosts a script on any page of the app could reach the
// page (and what is typed into it) and the session it makes, so there
// the dashboard is not served: a request is sent to admin.host when it
// is set, and otherwise told how to turn the dashboard on.
func serveUI(rt *runtime.Runtime, ui http.Handler, w http.ResponseWriter, r *http.Request, info *decision.Info) {
	cfg := rt.Config()
	if len(cfg.AdminTokens()) == 0 {
		info.Final = decision.Decision{Action: decision.Respond, Status: http.StatusNotFound, RuleID: RuleUI, Reason: "dashboard off (no admin.token)"}
		http.NotFound(w, r)
		return
	}
	if admin.SessionsAllowed(cfg, r, false) {
		info.Final = decision.Decision{Action: decision.Respond, RuleID: RuleUI}
		ui.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	if host := cfg.Admin.Host; host != "" {
		if _, port, err := net.SplitHostPort(r.Host); err == nil {
			host = net.JoinHostPort(host, port)
		}
		scheme := "http"
		if info.Scheme == "https" || r.TLS != nil {
			scheme = "https"
		}
		info.Final = decision.Decision{Action: decision.Respond, Status: http.StatusFound, RuleID: RuleUI, Reason: "dashboard is on admin.host"}
		http.Redirect(w, r, scheme+"://"+host+dashboard.Prefix, http.StatusFound)
		return
	}
	info.Final = decision.Decision{Action: decision.Respond, Status: http.StatusForbidden, RuleID: RuleUI, Reason: "dashboard not served on the app's own origin"}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>Parapet dashboard: not here</title>"+
		"<h1>The dashboard is not served on the app's own origin</h1><p id=why>%s.</p>", html.EscapeString(admin.NoSessionsMessage(cfg)))
}

// Setup returns a runtime.Options.Setup that opens the event log from the
// config's events section, adds it as a sink, serves the admin API with
// its events and stats endpoints, and the dashboard where the API is: on
// admin.listen when it is set (then neither is on the public port), else
// on the public port (404 while no admin token is set).
func Setup() func(rt *runtime.Runtime) error {
	return func(rt *runtime.Runtime) error {
		cfg := rt.FileConfig()
		o := eventlog.OptionsFromConfig(cfg, rt.InstanceID())
		if o.Stream != nil {
			o.Stream.Logger = rt.Logger()
			o.Stream.OnPause = func(paused bool, used, max int64) {
				msg := fmt.Sprintf("events stream resumed: Redis uses %d of %d bytes", used, max)
				if paused {
					msg = fmt.Sprintf("events stream paused: Redis uses %d of %d bytes, above events.stream_memory_percent (%d%%); "+
						"the rate limits and bans keep the room, other instances do not see this one's events until it resumes",
						used, max, cfg.Events.StreamMemoryPercent)
				}
				rt.Emit(rt.Context(), &events.Event{Kind: events.KindStore, Message: msg})
			}
		}
		log, err := eventlog.New(rt.Context(), o)
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		if err := rt.Metrics().Register(log.Collectors()...); err != nil {
			_ = log.Close()
			return fmt.Errorf("events: %w", err)
		}
		go func() {
			<-rt.Context().Done()
			_ = log.Close()
		}()
		rt.AddSink(operatorEvents{log})
		ui := dashboard.Handler()
		opts := admin.Options{Events: eventlog.EventsHandler(log), Stats: eventlog.StatsHandler(log)}
		if cfg.Admin.Listen != "" {
			// The dashboard beside the API on the private listener: it
			// calls the API on its own origin.
			opts.Private = map[string]http.Handler{dashboard.Prefix: ui}
		}
		if err := admin.Setup(opts)(rt); err != nil {
			_ = log.Close()
			return err
		}
		if cfg.Admin.Listen == "" {
			rt.Handle(waf.Route{Path: dashboard.Prefix, Prefix: true, Serve: func(w http.ResponseWriter, r *http.Request, info *decision.Info) {
				serveUI(rt, ui, w, r, info)
			}})
			rt.Handle(waf.Route{Path: "/_parapet/ui", Serve: func(w http.ResponseWriter, r *http.Request, info *decision.Info) {
				info.Final = decision.Decision{Action: decision.Respond, Status: http.StatusMovedPermanently, RuleID: RuleUI}
				http.Redirect(w, r, dashboard.Prefix, http.StatusMovedPermanently)
			}})
		}
		if cfg.Admin.Host != "" {
			// The dashboard's own host serves nothing of the app: no page
			// there can run script beside the dashboard. Registered last,
			// after the API and the dashboard (and the chain's own routes,
			// found first), so it takes everything else on that host.
			rt.Handle(waf.Route{Path: "/", Prefix: true, Host: cfg.Admin.Host, Serve: func(w http.ResponseWriter, r *http.Request, info *decision.Info) {
				info.Final = decision.Decision{Action: decision.Respond, Status: http.StatusNotFound, RuleID: RuleAdminHost,
					Reason: "admin.host serves only Parapet's dashboard and admin API"}
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, "Not found: this host ("+cfg.Admin.Host+", admin.host) serves only Parapet's dashboard at "+dashboard.Prefix+
					" and its API; the app is on its own host names.", http.StatusNotFound)
			}})
		}
		return nil
	}
}

// operatorEvents is the event log's sink without the operators' own
// reading: the dashboard's pages and the admin API's successful reads
// (the dashboard polls them every few seconds) would otherwise fill the
// events it shows. Changes, logins and refusals are kept (changes are
// also admin events). The JSON log line still has every request.
type operatorEvents struct{ log *eventlog.Log }

func (o operatorEvents) Emit(ctx context.Context, e *events.Event) {
	if e.Kind == "" || e.Kind == events.KindRequest {
		if e.RuleID == RuleUI || e.RuleID == admin.RuleAdminAPI && (e.Method == http.MethodGet || e.Method == http.MethodHead) && e.Status < 400 {
			return
		}
	}
	o.log.Emit(ctx, e)
}
