/**
 * Product code reads in one sitting: no function, method or arrow function over about 100 lines, unless
 * the comment right above it says why it is kept whole ("Kept whole: ..."). The check walks the
 * TypeScript syntax tree of every product file, so a new long function fails `npm test` where it is added.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const PRODUCT_FOLDERS = ['functions', 'cli', 'infra', 'sim'];
const MAX_LINES = 100;
const REASON = /Kept whole:/;

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const file = path.join(folder, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return file.endsWith('.ts') && !file.endsWith('.d.ts') ? [file] : [];
  });
}

function isFunctionLike(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node) ||
    ts.isConstructorDeclaration(node)
  );
}

/** The statement or member that carries a function's leading comment (a `const f = () => ...` carries it on the statement). */
function commentHolder(node: ts.Node): ts.Node {
  let current: ts.Node = node;
  while (
    current.parent &&
    (ts.isVariableDeclaration(current.parent) ||
      ts.isVariableDeclarationList(current.parent) ||
      ts.isVariableStatement(current.parent) ||
      ts.isPropertyAssignment(current.parent) ||
      ts.isPropertyDeclaration(current.parent) ||
      ts.isExportAssignment(current.parent))
  ) {
    current = current.parent;
  }
  return current;
}

/** Every function over MAX_LINES lines without a stated reason, as "file:line name (N lines)". */
function longFunctions(files: string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (isFunctionLike(node)) {
        const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        const lines = end - start + 1;
        const holder = commentHolder(node);
        const comments = (ts.getLeadingCommentRanges(text, holder.getFullStart()) ?? [])
          .map((range) => text.slice(range.pos, range.end))
          .join('\n');
        if (lines > MAX_LINES && !REASON.test(comments)) {
          const name =
            node.name?.getText(source) ?? (holder as { name?: ts.Node }).name?.getText(source) ?? '<anonymous>';
          found.push(`${path.relative(ROOT, file)}:${start + 1} ${name} (${lines} lines)`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe('function length', () => {
  it('finds no product function over 100 lines without a reason stated above it', () => {
    // Arrange
    const files = PRODUCT_FOLDERS.flatMap((folder) => sourceFiles(path.join(ROOT, folder)));

    // Act
    const long = longFunctions(files);

    // Assert
    expect(files.length).toBeGreaterThan(50);
    expect(long).toEqual([]);
  });

  it('flags a long function and accepts one whose comment says why it is kept whole', () => {
    // Arrange
    const body = Array.from({ length: MAX_LINES + 5 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const dir = path.join(tmpdir(), `fn-length-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const plain = path.join(dir, 'plain.ts');
    const reasoned = path.join(dir, 'reasoned.ts');
    writeFileSync(plain, `export function tooLong() {\n${body}\n}\n`);
    writeFileSync(reasoned, `/** Kept whole: one declarative table. */\nexport const table = () => {\n${body}\n};\n`);

    // Act
    const found = longFunctions([plain, reasoned]);

    // Assert
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('tooLong');
  });
});
