/**
 * The examples of the repository's READMEs: each fenced block of shell (sh), JavaScript (js) or
 * TypeScript (ts), with the HTML comment on the line before it, which may say which test runs it
 * or why none can.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));

/** Every README: the repository's and each package's. */
export const READMES = ['README.md', ...['specs', 'image', 'bundle', 'runtime', 'native', 'cli'].map((name) => `packages/${name}/README.md`)];

export interface ReadmeExample {
  /** The README, relative to the repository. */
  file: string;
  /** Line of the opening fence. */
  line: number;
  lang: 'sh' | 'js' | 'ts';
  code: string;
  /** The comment just above the fence, without `<!--` and `-->`. */
  note?: string;
}

/** A note that puts the example in test/pack.test.ts's hands. */
export const PACK_NOTE = 'test/pack.test.ts runs this example in a project that installed the packed packages';
/** A note for an example no test can run, saying why. */
export const NOT_RUN = /^not run by the tests: (.+)$/;

export function readmeExamples(file: string): ReadmeExample[] {
  const lines = readFileSync(path.join(REPOSITORY, file), 'utf8').split('\n');
  const examples: ReadmeExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)$/.exec(lines[i]!);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`${file}:${i + 1}: the block never closes`);
    const lang = fence[1];
    if (lang === 'sh' || lang === 'js' || lang === 'ts') {
      const note = /^<!-- (.*) -->$/.exec(lines[i - 1] ?? '')?.[1];
      examples.push({ file, line: i + 1, lang, code: `${lines.slice(i + 1, end).join('\n')}\n`, ...(note && { note }) });
    }
    i = end;
  }
  return examples;
}

/** The other fenced blocks' text in `lang` (configuration the examples rely on, like podman's toml). */
export function readmeBlocks(file: string, lang: string): string[] {
  const text = readFileSync(path.join(REPOSITORY, file), 'utf8');
  return [...text.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((match) => match[1]!);
}
