const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The login form (no script: it posts the token, the answer sets an HttpOnly cookie). Shown
 * when COLONY_DASHBOARD_TOKEN is set and the browser has no session.
 */
export function loginPage(message?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>colony: log in</title>
<link rel="stylesheet" href="/assets/app.css">
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
</head>
<body class="login">
<form method="post" action="/login" class="login-form">
<h1>colony</h1>
<p>This dashboard needs its token (<code>COLONY_DASHBOARD_TOKEN</code>).</p>
${message ? `<p class="login-error" role="alert">${escape(message)}</p>` : ''}
<label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Log in</button>
</form>
</body>
</html>
`;
}
