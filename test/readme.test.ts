/**
 * The READMEs' examples run as written: every shell, JavaScript and TypeScript block of the
 * repository's README and the packages' (test/pack.test.ts runs those of the packages' own
 * set-up, against the packed packages). They run one after another in world.ts's world, where
 * docker.io, registry.example, mirror.example and ghcr.io are the harness's registries and
 * /var/lib/oci, /run/oci and /srv are fresh; what an example takes as given (an image pulled, a
 * file it names) is made first, and what it leaves is looked at afterwards. TypeScript blocks
 * are type-checked against the packages' public types (tsc, strict) and run as compiled.
 */

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { NOT_RUN, PACK_NOTE, READMES, REPOSITORY, type ReadmeExample, readmeBlocks, readmeExamples } from './harness/readme.js';
import { runOk } from './harness/run.js';
import { type Example, type Ran, runInWorld } from './harness/world.js';

/** How one example runs: found by text only it holds; what it takes as given; what it must show. */
interface Plan extends Pick<Example, 'given' | 'afterwards' | 'terminal' | 'asNobody' | 'podman'> {
  file: string;
  holds: string;
  check(t: ExecutionContext, ran: Ran): void;
  /** What `afterwards` must print. */
  afterwardsShow?: RegExp;
}

/** A bundle at /srv/web whose program runs until killed, and the process.json an engine would write for an exec. */
const WEB_BUNDLE = [
  'rm -rf /srv/web && oci pull -q busybox && oci unpack busybox /srv/web',
  `node -e "const fs = require('fs'), f = '/srv/web/config.json', c = JSON.parse(fs.readFileSync(f)); c.process.args = ['sleep', '3600']; fs.writeFileSync(f, JSON.stringify(c))"`,
  `echo '{"args":["sleep","60"],"cwd":"/","user":{"uid":0,"gid":0},"env":["PATH=/bin"]}' > /srv/web/process.json`,
].join(' && ');
const ok = (t: ExecutionContext, ran: Ran) => t.is(ran.status, 0, `${ran.stdout}\n${ran.stderr}`);

const PLANS: Plan[] = [
  {
    file: 'README.md',
    holds: 'oci pull busybox && oci unpack && oci run',
    check(t, ran) {
      ok(t, ran);
      t.regex(ran.stdout, /^hi\nsha256:[0-9a-f]{64}\n$/);
    },
    afterwards: 'ls rootfs/bin/busybox config.json',
  },
  {
    file: 'README.md',
    holds: "import { defaultSpec } from '@oci/bundle';",
    given: 'oci pull -q busybox',
    check: ok,
    afterwards: 'ls rootfs/bin/busybox',
  },
  {
    file: 'README.md',
    holds: 'oci pull --platform linux/arm64 alpine:3.20',
    check(t, ran) {
      ok(t, ran);
      t.regex(ran.stdout, /^\[PATH=\/usr\/local\/sbin:/m); // the inspect by ID
      t.regex(ran.stdout, /^Login Succeeded!$/m);
    },
    afterwards:
      'oci images --format "{{.Ref}}"; oci inspect registry.example/team/busybox:1 --format "{{.Architecture}}"; oci inspect alpine:3.20 --format "{{.Architecture}}"',
    afterwardsShow: /^docker\.io\/library\/alpine:3\.20\nregistry\.example\/team\/busybox:1\namd64\narm64\n$/,
  },
  {
    file: 'README.md',
    holds: "await push(store, name, 'registry.example/team/busybox:1', { creds: 'user:secret' });",
    check(t, ran) {
      ok(t, ran);
      t.regex(ran.stdout, /type: '\w+'/);
    },
  },
  {
    file: 'README.md',
    holds: 'oci copy --all docker://registry.example/app:1 oci:/srv/layout:app',
    given: 'oci pull -q busybox && oci pull -q alpine:3.20',
    check(t, ran) {
      ok(t, ran);
      t.regex(ran.stdout, /^Loaded image: docker\.io\/library\/busybox:latest$/m);
      t.regex(ran.stdout, /^Loaded image: docker\.io\/library\/alpine:3\.20$/m);
    },
    afterwards:
      'skopeo inspect --raw oci:/srv/layout:app | grep -o \'"architecture":"[a-z0-9]*"\'; gzip -t busybox.tar.gz && tar -tf busybox.tar manifest.json && skopeo inspect --tls-verify=false docker://mirror.example/app:1 --format "{{.Name}}"',
    afterwardsShow: /^"architecture":"amd64"\n"architecture":"arm64"\nmanifest\.json\nmirror\.example\/app\n$/,
  },
  {
    file: 'README.md',
    holds: 'oci unpack --overlay busybox overlaid',
    given:
      'oci pull -q busybox && oci unpack busybox fs && tar -C fs/rootfs -cf rootfs.tar . && rm -rf fs && oci save -o saved.tar busybox && oci pull -q alpine:3.20',
    check: ok,
    afterwards:
      'test -e rootfs/bin/sh && test -e /srv/alpine/rootfs/bin/sh && grep -l ociVersion config.json shifted/config.json exported/config.json overlaid/config.json spec/config.json && stat -c %u shifted/rootfs/bin && oci images --format "{{.Ref}}" | grep my/app',
    afterwardsShow:
      /^config\.json\nshifted\/config\.json\nexported\/config\.json\noverlaid\/config\.json\nspec\/config\.json\n100000\ndocker\.io\/my\/app:1\n$/,
  },
  {
    file: 'README.md',
    holds: 'oci run -it alpine sh',
    given: 'mkdir -p /srv/www && echo hello > /srv/www/index.html',
    terminal: true,
    check(t, ran) {
      ok(t, ran);
      t.regex(ran.stdout, /^hi\r$/m);
      t.regex(ran.stdout, /^web\r$/m); // the detached nginx's id: its name
      t.regex(ran.stdout, /^\d+: lo: /m);
    },
  },
  {
    file: 'README.md',
    holds: "image: 'busybox', args: ['echo', 'hi']",
    check(t, ran) {
      ok(t, ran);
      t.is(ran.stdout, 'hi\n');
    },
  },
  {
    file: 'README.md',
    holds: 'oci create --bundle /srv/web --pid-file /srv/web/pid web',
    given: `oci pull -q busybox && oci unpack busybox . && ${WEB_BUNDLE}`,
    terminal: true,
    check(t, ran) {
      ok(t, ran);
      t.regex(ran.stdout, /"status": "running"/);
      t.regex(ran.stdout, /^\{"type":"stats","id":"web","data":\{/m);
    },
    afterwards: 'test -s /srv/web/e.pid && test -s /srv/web/pid && oci list -q | wc -l', // both pid files written; nothing left
    afterwardsShow: /^0\n$/,
  },
  {
    file: 'README.md',
    holds: "const container = await runtime.create('web', { bundle: '/srv/web' });",
    given: WEB_BUNDLE,
    check(t, ran) {
      ok(t, ran);
      t.regex(ran.stdout, /^bin\n/m);
      t.regex(ran.stdout, /^\{ code: 0 \} true \{ signal: 9 \} 137\n$/m);
    },
  },
  {
    file: 'README.md',
    holds: 'oci spec --rootless && oci run',
    given: 'oci pull -q busybox && oci unpack busybox . && rm config.json && chown -R 65534:65534 .',
    asNobody: true,
    terminal: true, // runc spec's process.terminal
    check: ok,
    afterwards: 'grep -c \'"hostID": 65534\' config.json', // nobody is root inside: uid and gid
    afterwardsShow: /^2\n$/,
  },
  {
    file: 'README.md',
    holds: 'podman run --rm --runtime /usr/local/bin/oci busybox echo hi',
    podman: { jsonRuntimes: podmanJsonRuntimes() },
    check(t, ran) {
      ok(t, ran);
      t.regex(ran.stdout, /^hi$/m);
    },
  },
  {
    file: 'packages/image/README.md',
    holds: "'busybox-rootfs'",
    given: 'oci pull -q busybox',
    check(t, ran) {
      ok(t, ran);
      t.regex(ran.stdout, /^unpacked sha256:[0-9a-f]{64}, 0 items skipped\n$/);
      t.regex(ran.stderr, /^layer 1\/1: \d+ of \d+ bytes\n$/);
    },
    afterwards: 'ls busybox-rootfs/bin/busybox first-layer/bin/sh',
  },
  {
    file: 'packages/image/README.md',
    holds: "await copy('docker://registry.example/team/app:1', 'oci-archive:app.tar:app', { store, all: true });",
    given: 'oci pull -q busybox && oci pull -q alpine:3.20',
    check(t, ran) {
      ok(t, ran);
      t.regex(ran.stdout, /'docker\.io\/library\/busybox:latest sha256:[0-9a-f]{64}'/);
      t.regex(ran.stdout, /'docker\.io\/library\/alpine:3\.20 sha256:[0-9a-f]{64}'/);
    },
    afterwards: 'skopeo inspect --raw oci-archive:app.tar:app | grep -o \'"architecture":"[a-z0-9]*"\'',
    afterwardsShow: /^"architecture":"amd64"\n"architecture":"arm64"\n$/,
  },
  {
    file: 'packages/image/README.md',
    holds: 'AbortSignal.abort()',
    check(t, ran) {
      ok(t, ran);
      t.is(ran.stdout, 'EABORTED AbortError\n');
    },
  },
];

/** The runtimes the README's containers.conf snippet lists as taking --log-format=json. */
function podmanJsonRuntimes(): string[] {
  const [toml] = readmeBlocks('README.md', 'toml');
  return JSON.parse(/^runtime_supports_json = (\[.*\])$/m.exec(toml ?? '')?.[1] ?? '[]') as string[];
}

const examples = READMES.flatMap(readmeExamples);
const planned = (example: ReadmeExample) => PLANS.filter((plan) => plan.file === example.file && example.code.includes(plan.holds));
const where = (example: ReadmeExample) => `${example.file}:${example.line}`;
let results: Map<string, Ran>;

/** TypeScript examples, checked and compiled as a user's module beside the test (so '@oci/…' resolves to the workspace's packages). */
async function compiled(sources: readonly { name: string; code: string }[]): Promise<Map<string, string>> {
  const dir = fileURLToPath(new URL(`readme-ts-${process.pid}/`, import.meta.url));
  mkdirSync(dir);
  try {
    const files = sources.map(({ code }, i) => {
      writeFileSync(path.join(dir, `example${i}.ts`), code);
      return `example${i}.ts`;
    });
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      types: ['node'],
      skipLibCheck: true,
      outDir: 'out',
    };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
    await runOk(process.execPath, [path.join(REPOSITORY, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir, timeout: 120_000 }).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${sources.map(({ name }, i) => `example${i}.ts: ${name}`).join('\n')}`);
      },
    );
    return new Map(sources.map(({ name }, i) => [name, readFileSync(path.join(dir, 'out', `example${i}.js`), 'utf8')]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test.before(async (t) => {
  t.timeout(1_200_000);
  const runnable = examples.filter((example) => planned(example).length === 1);
  const javascript = await compiled(runnable.filter((example) => example.lang === 'ts').map((example) => ({ name: where(example), code: example.code })));
  results = await runInWorld(
    runnable.map((example) => {
      const { given, afterwards, terminal, asNobody, podman } = planned(example)[0]!;
      const code = example.lang === 'ts' ? javascript.get(where(example))! : example.code;
      return { name: where(example), lang: example.lang === 'sh' ? 'sh' : 'js', code, given, afterwards, terminal, asNobody, podman };
    }),
  );
});

test('every example of the READMEs has a plan here, is run by test/pack.test.ts, or says why no test can run it', (t) => {
  for (const example of examples) {
    const plans = planned(example);
    if (example.note === PACK_NOTE || example.note?.startsWith('test/pack.test.ts runs this')) t.is(plans.length, 0, where(example));
    else if (example.note && NOT_RUN.test(example.note)) t.is(plans.length, 0, where(example));
    else t.is(plans.length, 1, `${where(example)}: ${plans.length} plans`);
  }
  for (const plan of PLANS) t.is(examples.filter((example) => planned(example).includes(plan)).length, 1, `${plan.file}: ${plan.holds}`);
  t.deepEqual(
    examples.filter((example) => example.note && NOT_RUN.test(example.note)).map((example) => example.code),
    ['scripts/setup && pnpm demo\n', 'pnpm test\n'],
  );
});

for (const plan of PLANS) {
  test(`${plan.file}: the example holding ${JSON.stringify(plan.holds)} runs`, (t) => {
    const example = examples.find((candidate) => planned(candidate).includes(plan));
    if (!example) return t.fail('no example holds it');
    const ran = results.get(where(example))!;
    t.is(ran.givenStatus, 0, `what ${where(example)} takes as given failed: ${ran.stderr}`);
    plan.check(t, ran);
    if (plan.afterwards) t.is(ran.afterwards?.status, 0, ran.afterwards?.output);
    if (plan.afterwardsShow) t.regex(ran.afterwards?.output ?? '', plan.afterwardsShow);
  });
}
