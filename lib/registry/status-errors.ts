import { RegistryError } from '../core/findings/registry-error';
import { sanitizeRegistryText } from './registry-text';
import { loginCommand } from './login-command';
import type { RegistryCredential } from './credentials';
import type { HttpAnswer } from './transport';

/** Throws the {@link RegistryError} a non-2xx answer means, naming the image, host, credential tried and fix. */
export function checkStatus(res: HttpAnswer, host: string, image: string, credential: RegistryCredential | undefined): void {
  if (res.status >= 200 && res.status < 300) return;
  const tried = credential ? `credential of user "${credential.username}" from ${credential.source}` : 'no credential';
  const detail = registryErrorDetail(res.body);
  switch (res.status) {
    case 401:
      throw new RegistryError(
        'unauthorized',
        host,
        `${image}: 401 Unauthorized from ${host} (tried ${tried})${detail}. Fix: ${credential ? `renew the credential (${loginCommand(host)}) or correct the pull secret` : `log in (${loginCommand(host)}) or pass a .dockerconfigjson with --docker-config`}`,
        401,
      );
    case 403:
      throw new RegistryError('forbidden', host, `${image}: 403 Forbidden from ${host} (tried ${tried})${detail}; the account lacks pull access to this repository`, 403);
    case 404:
      throw new RegistryError('not-found', host, `${image}: not found on ${host} (HTTP 404${detail ? `,${detail.slice(1)}` : ''}): the tag or repository does not exist. Fix: check the spelling, or push the tag`, 404);
    default:
      throw new RegistryError(res.status >= 500 ? 'server-error' : 'bad-response', host, `${image}: ${host} answered HTTP ${res.status}${detail}`, res.status);
  }
}

/** ` [CODE: message]` from a registry's JSON error body, or nothing. */
function registryErrorDetail(body: Buffer): string {
  const first = registryErrorOf(body);
  return first ? ` [${first.code}${first.message !== undefined ? `: ${first.message}` : ''}]` : '';
}

/**
 * The first error of a registry's JSON error body (`{"errors":[{"code":"MANIFEST_UNKNOWN",…}]}`),
 * sanitized (one registry echoed the request's Authorization header); `undefined` for any other body.
 */
export function registryErrorOf(body: Buffer): { code: string; message?: string } | undefined {
  if (body.length === 0) return undefined;
  try {
    const data = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = data.errors?.[0];
    if (first && typeof first.code === 'string') {
      return { code: sanitizeRegistryText(first.code, 40), ...(typeof first.message === 'string' ? { message: sanitizeRegistryText(first.message) } : {}) };
    }
  } catch {
    // Not the registry error format.
  }
  return undefined;
}
