/**
 * No module of the product imports itself through others. A circle of imports means no module in it can
 * be read, tested or loaded on its own, and under CommonJS one of them sees the other half-initialised
 * (an export that is still undefined). The graph is read from the sources with TypeScript's parser:
 * static imports and re-exports, `import type` and `typeof import()` included, and `require()` and
 * `import()` calls (the CLI loads its commands lazily with them).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
/** The folders that ship (the CLI, the Lambda functions, the CDK app, the S3 model the estimate uses). */
const PRODUCT_DIRS = ['cli', 'functions', 'infra', 'sim'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

/** The module specifiers a source file names, in every form TypeScript and Node load them. */
function moduleSpecifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const loads =
        callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require');
      const [first] = node.arguments;
      if (loads && first && ts.isStringLiteral(first)) found.push(first.text);
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      if (ts.isLiteralTypeNode(argument) && ts.isStringLiteral(argument.literal)) found.push(argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The project files a file imports (relative specifiers resolved as TypeScript resolves them). */
function importedFiles(file: string): string[] {
  return moduleSpecifiers(file, readFileSync(file, 'utf8'))
    .filter((specifier) => specifier.startsWith('.'))
    .flatMap((specifier) => {
      const base = path.resolve(path.dirname(file), specifier);
      const candidate = [`${base}.ts`, path.join(base, 'index.ts'), base].find(
        (name) => existsSync(name) && statSync(name).isFile(),
      );
      return candidate ? [candidate] : [];
    });
}

/** Every circle in a graph: its strongly connected components of more than one module, or a self-import. */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    order.set(node, order.size);
    low.set(node, order.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!order.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, order.get(next) as number));
      }
    }
    if (low.get(node) !== order.get(node)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.includes(node)) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!order.has(node)) visit(node);
  return cycles;
}

describe('import graph', () => {
  it('finds a circle when there is one, lazy require() included (the check itself can fail)', () => {
    // Arrange: the shape the command catalog once had
    const graph = new Map([
      ['catalog', ['run']],
      ['run', ['catalog', 'io']],
      ['io', []],
    ]);
    const specifiers = moduleSpecifiers(
      'catalog.ts',
      "import type { A } from './a';\nexport { b } from './b';\nconst run = () => require('./run') as typeof import('./t');",
    );
    // Act + Assert
    expect(importCycles(graph)).toEqual([['catalog', 'run']]);
    expect(specifiers.sort()).toEqual(['./a', './b', './run', './t']);
  });

  it('has no circle among the product modules (cli/, functions/, infra/, sim/)', () => {
    // Arrange
    const files = PRODUCT_DIRS.flatMap((dir) => sourceFiles(path.join(ROOT, dir)));
    const graph = new Map(files.map((file) => [file, importedFiles(file)]));
    // Act
    const cycles = importCycles(graph).map((cycle) => cycle.map((file) => path.relative(ROOT, file)));
    // Assert
    expect(files.length).toBeGreaterThan(50);
    expect(cycles).toEqual([]);
  });
});
