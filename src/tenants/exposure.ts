/**
 * Whether a server without tenants may start on an address: only on loopback, where nobody
 * else can reach it, unless the operator says the network is trusted. Anything that binds
 * every interface or a routable address needs API keys or that explicit word.
 */

export function isLoopback(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/i.test(h);
}

/** Why the server must not start, or undefined when it may. */
export function exposureProblem(host: string, hasTenants: boolean, allowUnauthenticated: boolean): string | undefined {
  if (hasTenants || allowUnauthenticated || isLoopback(host)) return undefined;
  return `refusing to serve without authentication on ${host}, which is not a loopback address: ` +
    'give a tenants file (--tenants FILE) so that clients need API keys, bind to 127.0.0.1, ' +
    'or pass --allow-unauthenticated if every client that can reach this address may use every model';
}
