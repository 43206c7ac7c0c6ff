/** Served for every non-API path until the web issue brings the real UI (or WEB_UPSTREAM is set). */
export const placeholderPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>evshare</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .25rem}</style>
</head>
<body>
<h1>evshare</h1>
<p>evshare &mdash; web UI arrives with the web issue.</p>
<p>The gateway is running. Useful links:</p>
<ul>
<li><a href="/readyz">/readyz</a> &mdash; readiness</li>
</ul>
<p>The balancer's status (<code>/lb/status</code>) and <code>/metrics</code> are on the gateway's admin listener (<code>ADMIN_PORT</code>, loopback by default), and in the operators' console.</p>
<p>The member API is under <code>/api/v1/</code>, login under <code>/api/v1/auth/</code>, the push channel at <code>/push</code>.</p>
</body>
</html>
`;
