import { isLoopbackName } from '../dashboard/server/auth.js';
import { ConfigError } from '../schemas/errors.js';

/**
 * Off loopback the dashboard, its API and /metrics would be open to the network: refuse to
 * start without COLONY_DASHBOARD_TOKEN.
 *
 * @throws ConfigError naming the variable.
 */
export function requireDashboardToken(host: string, token: string | undefined): void {
  if (!token && !isLoopbackName(host))
    throw new ConfigError(
      `COLONY_DASHBOARD_TOKEN: required to serve on ${host}, which is not loopback (the dashboard and /metrics would be open to the network); set a token of 16+ characters, or bind to 127.0.0.1`,
    );
}
