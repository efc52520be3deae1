package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the /metrics handler of reg: OpenMetrics when the scraper
// asks for it, a scrape cut off after timeout, and a failing collector
// logged at warn (and counted in promhttp_metric_handler_errors_total)
// rather than failing the whole scrape.
func Handler(reg *prometheus.Registry, log *slog.Logger, timeout time.Duration) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		ErrorHandling:     promhttp.ContinueOnError,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		Timeout:           timeout,
		EnableOpenMetrics: true,
	})
}
