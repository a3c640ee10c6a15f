import { ImageReference, InvalidImageReferenceError, defaultPullPolicy, CredentialKeyring, registryKeyMatches } from '../../../lib';

// A small seeded PRNG so failures reproduce.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = 'abcz09AZ._-/:@[]%$ \t\n\u0000\u202e\u00e9\u{1F600}sha256';
const PIECES = ['docker.io/', 'localhost:5000/', '[::1]:5000/', 'a', '-', '_', '__', '.', ':', '@', '/', 'sha256:', 'f'.repeat(64), 'A', ':latest', '@sha512:', 'é', '\u0000', '..', '//'];

function randomString(next: () => number): string {
  const n = Math.floor(next() * 80);
  let out = '';
  for (let i = 0; i < n; i++) {
    out += next() < 0.5 ? [...ALPHABET][Math.floor(next() * [...ALPHABET].length)] : PIECES[Math.floor(next() * PIECES.length)];
  }
  return out;
}

const VALID_BASES = ['nginx:1.27', 'ghcr.io/acme/api:1.4.2', `localhost:5000/a/b@sha256:${'e'.repeat(64)}`, '[::1]:5000/repo:tag', 'a_b.c-d/e__f:T_1'];

/** A valid reference with a few random edits: most stay near the grammar's edges. */
function mutated(next: () => number): string {
  const chars = [...VALID_BASES[Math.floor(next() * VALID_BASES.length)]];
  const edits = Math.floor(next() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(next() * (chars.length + 1));
    const c = [...ALPHABET][Math.floor(next() * [...ALPHABET].length)];
    const op = next();
    if (op < 0.33) chars.splice(at, 0, c);
    else if (op < 0.66) chars.splice(at, 1);
    else chars[at] = c;
  }
  return chars.join('');
}

function parseOutcome(input: string): 'ok' | 'invalid' {
  try {
    const ref = ImageReference.parse(input);
    // Whatever parses must normalize to a fixed point.
    expect(ImageReference.parse(ref.toString()).toString()).toBe(ref.toString());
    return 'ok';
  } catch (e) {
    if (!(e instanceof InvalidImageReferenceError)) throw e;
    expect(e.message.length).toBeLessThan(1000);
    return 'invalid';
  }
}

describe('parser fuzzing', () => {
  test('10,000 random strings: parse returns or throws InvalidImageReferenceError only', () => {
    const next = rng(20261126);
    const outcomes = { ok: 0, invalid: 0 };
    for (let i = 0; i < 10000; i++) {
      const input = i % 2 === 0 ? randomString(next) : mutated(next);
      outcomes[parseOutcome(input)]++;
      expect(['Always', 'IfNotPresent']).toContain(defaultPullPolicy(input));
    }
    // The generator must exercise both paths, or the test proves nothing.
    expect(outcomes.ok).toBeGreaterThan(100);
    expect(outcomes.invalid).toBeGreaterThan(100);
  });

  test.each([
    ['very long valid-looking path', 'a/'.repeat(100000) + 'a'],
    ['long dash run', `a${'-'.repeat(200000)}b`],
    ['long domain labels', `${'a-'.repeat(50000)}a.com/x`],
    ['alternating separators', `a${'._'.repeat(100000)}`],
    ['deep IPv6-ish host', `[${':'.repeat(100000)}]/x`],
    ['long digest', `a@sha256:${'f'.repeat(300000)}`],
    ['long tag', `a:${'x'.repeat(300000)}`],
    ['control characters', 'nginx\u0000:1\n'],
    ['unicode', 'ñginx:1.0'],
    ['right-to-left override', 'evil\u202e/moc.elgoog'],
  ])('adversarial: %s is rejected or parsed without hanging', (_name, input) => {
    expect(parseOutcome(input)).toBe('invalid');
  });

  test.each([
    ['dash runs', `a${'-'.repeat(1000)}`],
    ['separator runs', `a${'._'.repeat(500)}!`],
    ['host label backtracking', `${'a-'.repeat(500)}-.com/x`],
    ['many components then a bad one', `${'ab/'.repeat(330)}A`],
    ['hex run', `a@sha256:${'F'.repeat(1000)}`],
  ])('adversarial below the length cap: %s', (_name, input) => {
    expect(input.length).toBeLessThanOrEqual(1024);
    expect(parseOutcome(input)).toBe('invalid');
  });

  test('the length cap holds just above and below the limit', () => {
    expect(parseOutcome(`a/${'b'.repeat(250)}`)).toBe('ok');
    expect(parseOutcome(`a/${'b'.repeat(2000)}`)).toBe('invalid');
  });

  test('keyring matching never throws on random keys and images', () => {
    const next = rng(7);
    for (let i = 0; i < 3000; i++) {
      const key = randomString(next);
      const image = randomString(next);
      expect(typeof registryKeyMatches(key, image)).toBe('boolean');
      const keyring = new CredentialKeyring().addEntry('s', key, { username: 'u', password: 'p' });
      expect(Array.isArray(keyring.lookup(image))).toBe(true);
    }
  });
});
