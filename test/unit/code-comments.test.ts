/**
 * Comments explain the code to a newcomer in their own words: they never send the reader to an issue
 * tracker ("features (issue 13)"), which a newcomer may not have and which says what was asked, not why
 * the code is as it is.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const FOLDERS = ['functions', 'cli', 'infra', 'sim', 'statemachine', 'scripts', 'test', 'build', 'bin'];
const ISSUE_REFERENCE = /\bissues? ?#?\d+\b/i;

function files(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const file = path.join(folder, name);
    if (statSync(file).isDirectory()) return files(file);
    return /\.(ts|js|sh|py)$/.test(file) ? [file] : [];
  });
}

/** Lines whose comment part cites an issue number, as "file:line". */
function issueCitations(paths: string[]): string[] {
  return paths.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, index) => {
        const comment = /(\/\/|\/\*|^\s*\*|^\s*#)(.*)$/.exec(line)?.[2] ?? '';
        return ISSUE_REFERENCE.test(comment) ? [`${path.relative(ROOT, file)}:${index + 1}`] : [];
      }),
  );
}

describe('code comments', () => {
  it('cite no issue numbers', () => {
    // Arrange
    const sources = FOLDERS.flatMap((folder) => files(path.join(ROOT, folder)));

    // Act
    const citations = issueCitations(sources).filter((where) => !where.startsWith('test/unit/code-comments.test.ts'));

    // Assert
    expect(sources.length).toBeGreaterThan(100);
    expect(citations).toEqual([]);
  });
});
