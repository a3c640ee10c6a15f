/** True for hosts on this machine: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':')[0];
  return name === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(name) || name === '::1';
}

/** Whether `url` may be used: HTTPS always, plain HTTP only to loopback hosts and the user's insecure registries. */
export function allowedScheme(url: URL, insecure: ReadonlySet<string>): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && (isLoopback(url.host) || insecure.has(url.host)));
}
