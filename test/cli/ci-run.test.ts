/** CI runs exactly the commands the README tells people to run: no hidden CI-only steps. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

describe('.ci/run', () => {
  it('runs npm install, npm test and npm run test:compat, each documented in the README', () => {
    // Arrange
    const ci = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const codeLines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
      (m[1] ?? '').split('\n').map((line) => line.replace(/#.*$/, '').trim()),
    );

    // Act
    const commands = ci
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('npm '));

    // Assess
    expect(commands).toEqual(['npm install', 'npm test', 'npm run test:compat']);
    for (const command of commands) {
      expect(codeLines.some((line) => line === command || line.startsWith(`${command} &&`))).toBe(true);
    }
  });
});
