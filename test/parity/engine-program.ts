/** The parity app as a Pulumi program, for `pulumi up` under the real engine (engine.test.ts). */
import { definePulumiApp } from './pulumi-app';

definePulumiApp();
