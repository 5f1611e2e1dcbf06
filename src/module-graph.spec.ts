import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Folders under src/ (features and infrastructure) must not import each other in a circle:
 * a change then has one home, and a module can be read (and tested) without the one that
 * imports it. Parses the imports of the shipped code (tests and src/testing are left out).
 */
const src = new URL('.', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'testing' ? [] : sourceFiles(path);
    return /\.ts$/.test(name) && !/\.(spec|e2e|d)\.ts$/.test(name) ? [path] : [];
  });
}

const folderOf = (path: string) => relative(src, path).split('/')[0];

/**
 * The roots that wire everything together and so import every folder: the files directly in
 * src/ (main, app.module), the CLI commands, and the ORM's list of every entity.
 */
const isRoot = (path: string) =>
  !relative(src, path).includes('/') || folderOf(path) === 'cli' || relative(src, path) === 'database/entities.ts';

/** folder -> folder -> one import that makes the edge (file: specifier), for the message. */
export function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(src)) {
    const from = folderOf(file);
    if (isRoot(file)) continue;
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), fileName);
      if (!target.startsWith(src)) continue; // config/, outside the folders
      const to = folderOf(target);
      if (to === from || isRoot(target)) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, `${relative(src, file)}: ${fileName}`);
    }
  }
  return graph;
}

/** Every cycle's folders, found by a depth-first search (each cycle reported once per entry point). */
export function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const found = new Map<string, string[]>();
  const visit = (node: string, path: string[]) => {
    for (const next of graph.get(node)?.keys() ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const cycle = path.slice(at);
        const start = cycle.indexOf([...cycle].sort()[0]);
        const canonical = [...cycle.slice(start), ...cycle.slice(0, start)];
        found.set(canonical.join('>'), canonical);
      } else visit(next, [...path, next]);
    }
  };
  for (const node of graph.keys()) visit(node, [node]);
  return [...found.values()];
}

describe('module graph of src/', () => {
  it('finds a cycle when there is one (the check can fail)', () => {
    const graph = new Map([
      ['a', new Map([['b', '']])],
      ['b', new Map([['c', '']])],
      ['c', new Map([['a', '']])],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b', 'c']]);
  });

  it('has no import cycle between folders', () => {
    const graph = folderGraph();
    expect(graph.size).toBeGreaterThan(5);
    const explained = cycles(graph).map((cycle) =>
      cycle
        .map(
          (folder, i) =>
            `${folder} -> ${cycle[(i + 1) % cycle.length]} (${graph.get(folder)!.get(cycle[(i + 1) % cycle.length])})`,
        )
        .join('; '),
    );
    expect(explained).toEqual([]);
  });

  it('health imports no feature: each dependency registers its own readiness check', () => {
    const imported = [...(folderGraph().get('health')?.keys() ?? [])].sort();
    expect(imported.filter((folder) => !['auth', 'common', 'openapi'].includes(folder))).toEqual([]);
  });
});
