/**
 * The project's rule: no account IDs in the repo but 111111111111 (the workflow's) and 222222222222 (the
 * target's), so that no real account ever lands in it. Two documented exceptions, each where it must be:
 * a third account's owner (test/support/accounts.ts, AWS's documentation example ID) and moto's fixed
 * account (moto answers every request as 123456789012).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const ROOTS = ['functions', 'infra', 'cli', 'statemachine', 'sim', 'bench', 'test', 'docs', 'scripts', 'bin'];
const FILES = ['README.md', 'cdk.json', 'package.json'];
const TEXT = /\.(ts|js|json|md|sh|yml|yaml|txt)$/;
const SKIP = new Set(['node_modules', 'dist', '.git']);

const ALLOWED = new Set(['111111111111', '222222222222']);
/** This file names the exceptions too. */
const SELF = 'test/unit/account-ids.test.ts';
const EXCEPTIONS: Record<string, string[]> = {
  '444455556666': ['test/support/accounts.ts', SELF],
  '123456789012': ['test/compat/connect.ts', 'docs/compatibility.md', SELF],
};

/** A 12-digit account in an ARN, quoted on its own, or after the word "account". */
const ACCOUNT = /arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12})|['"`](\d{12})['"`]|account[^\d\n]{0,20}(\d{12})/gi;

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (TEXT.test(name)) out.push(full);
  }
}

function accountIdsByFile(): Map<string, Set<string>> {
  const files: string[] = FILES.map((file) => path.join(ROOT, file));
  for (const dir of ROOTS) walk(path.join(ROOT, dir), files);
  const found = new Map<string, Set<string>>();
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(ACCOUNT)) {
      const id = match[1] ?? match[2] ?? match[3];
      if (!id) continue;
      const relative = path.relative(ROOT, file).split(path.sep).join('/');
      found.set(id, new Set([...(found.get(id) ?? []), relative]));
    }
  }
  return found;
}

describe('account IDs in the repo', () => {
  it('are 111111111111 and 222222222222, and the two documented exceptions only where they are explained', () => {
    // Act
    const found = accountIdsByFile();
    const offending = [...found].flatMap(([id, files]) =>
      ALLOWED.has(id)
        ? []
        : [...files].filter((file) => !(EXCEPTIONS[id] ?? []).includes(file)).map((f) => `${id} in ${f}`),
    );
    // Assert
    expect(offending).toEqual([]);
    expect(found.get('111111111111')?.size).toBeGreaterThan(10);
  });
});
