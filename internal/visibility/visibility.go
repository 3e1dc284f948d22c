// Package visibility wires what lets operators see and steer a running
// Parapet into its runtime: the event log (internal/eventlog) as a sink,
// the admin API (internal/admin) with the event log's query and stats
// endpoints, and the dashboard (internal/dashboard) at /_parapet/ui/.
package visibility

import (
	"context"
	"fmt"
	"net/http"

	"github.com/parapet-waf/parapet/internal/admin"
	"github.com/parapet-waf/parapet/internal/dashboard"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/eventlog"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/runtime"
	"github.com/parapet-waf/parapet/internal/waf"
)

// RuleUI is the rule id of the dashboard's own pages in events.
const RuleUI = "admin-ui"

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
				if len(rt.Config().AdminTokens()) == 0 {
					info.Final = decision.Decision{Action: decision.Respond, Status: http.StatusNotFound, RuleID: RuleUI, Reason: "dashboard off (no admin.token)"}
					http.NotFound(w, r)
					return
				}
				info.Final = decision.Decision{Action: decision.Respond, RuleID: RuleUI}
				ui.ServeHTTP(w, r)
			}})
			rt.Handle(waf.Route{Path: "/_parapet/ui", Serve: func(w http.ResponseWriter, r *http.Request, info *decision.Info) {
				info.Final = decision.Decision{Action: decision.Respond, Status: http.StatusMovedPermanently, RuleID: RuleUI}
				http.Redirect(w, r, dashboard.Prefix, http.StatusMovedPermanently)
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
