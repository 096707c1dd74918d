import test from 'ava';
import { ImageError, parseReference } from '../src/index.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

const normalised: [string, string][] = [
  ['busybox', 'docker.io/library/busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36'],
  ['library/busybox', 'docker.io/library/busybox:latest'],
  ['user/app', 'docker.io/user/app:latest'],
  ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
  ['docker.io/busybox', 'docker.io/library/busybox:latest'],
  ['ghcr.io/org/team/app:v1.2', 'ghcr.io/org/team/app:v1.2'],
  ['localhost/app', 'localhost/app:latest'],
  ['localhost:5000/app', 'localhost:5000/app:latest'],
  ['127.0.0.1:5000/ns/repo:tag', '127.0.0.1:5000/ns/repo:tag'],
  [`busybox@${DIGEST}`, `docker.io/library/busybox@${DIGEST}`],
  [`quay.io/app:1@${DIGEST}`, `quay.io/app:1@${DIGEST}`],
  ['a.b/c__d-e.f/g---h', 'a.b/c__d-e.f/g---h:latest'],
];

for (const [input, expected] of normalised) {
  test(`normalises ${input}`, (t) => {
    t.is(parseReference(input).toString(), expected);
  });
}

test('splits a reference into its parts', (t) => {
  const ref = parseReference(`host:5000/ns/repo:tag@${DIGEST}`);
  t.is(ref.registry, 'host:5000');
  t.is(ref.repository, 'ns/repo');
  t.is(ref.tag, 'tag');
  t.is(ref.digest, DIGEST);
  t.is(ref.version, DIGEST, 'a digest wins over a tag when asking the registry');
  t.is(ref.name, 'host:5000/ns/repo');
});

const malformed: [string, RegExp][] = [
  ['', /empty/],
  ['Busybox', /must be lowercase/],
  ['busybox:', /bad tag/],
  ['busybox:-x', /bad tag/],
  ['busybox@sha256:abc', /bad digest/],
  [`busybox@md5:${'a'.repeat(32)}`, /bad digest/],
  ['a//b', /bad repository path component ''/],
  ['host:5000/', /bad repository path component ''/],
  ['-bad.host/x', /bad registry host/],
  ['ns/re$po', /bad repository path component/],
  [`x/${'a'.repeat(260)}`, /longer than 255/],
];

for (const [input, why] of malformed) {
  test(`rejects '${input.slice(0, 30)}'`, (t) => {
    const error = t.throws(() => parseReference(input), { instanceOf: ImageError });
    t.is(error?.code, 'EREFERENCE');
    t.regex(error!.message, why);
  });
}
