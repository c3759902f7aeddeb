/** The page served at `/` until the dashboard lands: where the endpoints are. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DataFlare</title></head>
<body><h1>DataFlare</h1><ul>
<li><a href="/metrics">/metrics</a> (Prometheus text)</li>
<li><a href="/ready">/ready</a>, <a href="/ping">/ping</a></li>
<li><a href="/api/runs">/api/runs</a> (JSON)</li>
</ul></body></html>
`
