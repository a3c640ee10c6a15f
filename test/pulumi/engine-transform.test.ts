import * as pulumi from '@pulumi/pulumi';
import * as path from 'path';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { ImagePolicy } from '../../lib/pulumi';
import { runProgram } from './harness';

/* eslint-disable @typescript-eslint/no-require-imports */
// The SDK's own protocol messages: what the engine and the program exchange for a transform.
const resproto = require('@pulumi/pulumi/proto/resource_pb');
const callbackproto = require('@pulumi/pulumi/proto/callback_pb');
const gstruct = require('google-protobuf/google/protobuf/struct_pb');
const settings = require('@pulumi/pulumi/runtime/settings') as { getCallbacks(): any };
const state = require('@pulumi/pulumi/runtime/state') as { getStore(): { callbacks?: { shutdown(): void } } };
/* eslint-enable @typescript-eslint/no-require-imports */

const lock = ImageLock.load(path.join(__dirname, 'fixtures', 'kubepin.lock.json'));

/**
 * No Pulumi engine runs here. This plays the engine's two parts of the `transforms` protocol with
 * the SDK's real callback server: accept the stack transform registration (the mock monitor
 * lacks it), then call the registered transform over gRPC with a TransformRequest, as the engine
 * does for every resource, including the children of ConfigFile v2 and Chart v4.
 */
describe('with an engine that runs resource transforms', () => {
  afterEach(() => {
    const store = state.getStore();
    store.callbacks?.shutdown();
    store.callbacks = undefined;
  });

  test('register() hands the policy to the engine, and the engine gets pinned props back', async () => {
    const registrations: any[] = [];
    let api: string | undefined;
    let response: any;
    await runProgram(async () => {
      const monitor = pulumi.runtime.getMonitor() as any;
      monitor.registerStackTransform = (req: any, cb: (err: null, res: object) => void) => {
        registrations.push(req);
        cb(null, {});
      };
      api = ImagePolicy.register({ lock }).registeredWith;
      // The registration goes through the callback server once it listens (bounded wait).
      for (let i = 0; i < 200 && registrations.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(registrations).toHaveLength(1);

      const request = new resproto.TransformRequest();
      request.setType('kubernetes:apps/v1:Deployment');
      request.setName('web');
      request.setCustom(true);
      request.setProperties(gstruct.Struct.fromJavaScript({
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
        spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27.5' }] } } },
      }));
      const invoke = new callbackproto.CallbackInvokeRequest();
      invoke.setToken(registrations[0].getToken());
      invoke.setRequest(request.serializeBinary());
      const reply: any = await new Promise((resolve, reject) => settings.getCallbacks().invoke({ request: invoke }, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))));
      response = resproto.TransformResponse.deserializeBinary(reply.getResponse()).getProperties().toJavaScript();
    });
    expect(api).toBe('transforms');
    expect(response.spec.template.spec.containers[0]).toEqual({ name: 'web', image: `docker.io/library/nginx:1.27.5@${lock.get('nginx:1.27.5')!.digest}`, imagePullPolicy: 'IfNotPresent' });
  });
});
