import test from 'ava';
import { formatPlatform, ImageError, parsePlatform, platformMatches } from '../src/index.js';

test("parses os/arch/variant with containerd's default variants", (t) => {
  t.is(formatPlatform(parsePlatform('linux/amd64')), 'linux/amd64');
  t.is(formatPlatform(parsePlatform('linux/arm64')), 'linux/arm64/v8');
  t.is(formatPlatform(parsePlatform('linux/arm')), 'linux/arm/v7');
  t.is(formatPlatform(parsePlatform('linux/arm/v6')), 'linux/arm/v6');
  t.is(formatPlatform(parsePlatform('arm64')), 'linux/arm64/v8');
});

test('an index entry without a variant matches the default variant', (t) => {
  t.true(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64' }));
  t.false(platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm' }));
  t.false(platformMatches(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' }));
});

test('rejects a malformed platform', (t) => {
  t.is(t.throws(() => parsePlatform('linux/amd64/v1/x'), { instanceOf: ImageError })?.code, 'EPLATFORM');
  t.is(t.throws(() => parsePlatform('Linux AMD64'), { instanceOf: ImageError })?.code, 'EPLATFORM');
});
