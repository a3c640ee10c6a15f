import { ImageReference } from '../core/names/image-reference';
import { RegistryClient } from '../registry/client';
import { RegistryError } from '../core/findings/registry-error';
import { RegistryCredential } from '../registry/credentials';
import { unreachableHost } from '../core/findings/host-failure';
import { ImageProbeOptions, ManifestAnswer, ManifestProber, ProbeCredential } from './probe-types';

/**
 * The registry probe over {@link RegistryClient}: one client per credential (so each attempt
 * presents exactly one credential, as one kubelet try does; the clients keep their pings,
 * tokens and connections across images), and the client's errors mapped to outcomes.
 */
export function createRegistryProber(options: ImageProbeOptions): ManifestProber & { close(): void } {
  const clients = new Map<string, RegistryClient>();
  const clientFor = (credential: ProbeCredential | undefined): RegistryClient => {
    // Keyed by the credential in memory only; the map never leaves this closure.
    const id = credential ? `${credential.username}\u0000${credential.password}` : '';
    let client = clients.get(id);
    if (!client) {
      const fixed: RegistryCredential[] = credential ? [{ source: 'probe', username: credential.username, password: credential.password }] : [];
      client = new RegistryClient({
        credentials: { credentialsFor: async () => fixed },
        ...(options.ca ? { ca: options.ca } : {}),
        insecureRegistries: options.insecureRegistries ?? [],
        timeoutMs: options.timeoutMs ?? 10000,
        // The probe reports what a pull would meet; two retries ride out a blip without slowing CI.
        retries: 2,
      });
      clients.set(id, client);
    }
    return client;
  };
  const prober = async (image: ImageReference, credential: ProbeCredential | undefined): Promise<ManifestAnswer> => {
    try {
      if (image.digest !== undefined) {
        // The kubelet pulls `repo:tag@digest` by digest alone: ask for exactly that, by HEAD.
        const presence = await clientFor(credential).probeManifest(image.withoutTag().withoutDigest(), image.digest);
        if (!presence.present) return { outcome: 'not-found', status: 404, ...(presence.code ? { detail: `${presence.code}${presence.message ? `: ${presence.message}` : ''}` } : {}) };
        return { outcome: 'found', digest: image.digest };
      }
      const resolved = await clientFor(credential).resolve(image);
      return { outcome: 'found', digest: resolved.digest };
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      switch (e.kind) {
        case 'unauthorized':
          return { outcome: 'unauthorized', status: e.status ?? 401 };
        case 'forbidden':
          return { outcome: 'forbidden', status: e.status ?? 403 };
        case 'not-found':
          return { outcome: 'not-found', status: 404 };
        case 'tls':
        case 'network':
        case 'timeout':
          return { outcome: e.kind === 'tls' ? 'tls' : 'unreachable', detail: shortDetail(e.message), ...unreachableHost(e) };
        default:
          return { outcome: 'error', status: e.status ?? 0, detail: shortDetail(e.message) };
      }
    }
  };
  return Object.assign(prober, {
    close: () => {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  });
}

function shortDetail(message: string): string {
  // The client's messages start with the image; keep the cause, drop its fix (ours follows).
  const withoutFix = message.replace(/\. Fix: [\s\S]*$/, '');
  const colon = withoutFix.indexOf(': ');
  return colon === -1 ? withoutFix : withoutFix.slice(colon + 2);
}
