/**
 * Which sources a worker checks for a batch: a few from each folder in turn, since a folder is
 * what a mount or a permission covers, so a sample of eight spans eight folders when it can.
 * Keeps the batch's order within each folder. Pure.
 */
export function sampleSources<T extends { path: string }>(sources: readonly T[], max: number): T[] {
  const byFolder = new Map<string, T[]>();
  for (const s of sources) {
    const folder = s.path.replace(/[\\/][^\\/]*$/, '');
    const list = byFolder.get(folder);
    if (list) list.push(s);
    else byFolder.set(folder, [s]);
  }
  const lists = [...byFolder.values()];
  const out: T[] = [];
  for (let round = 0; out.length < max; round++) {
    let took = false;
    for (const list of lists) {
      const s = list[round];
      if (s === undefined) continue;
      took = true;
      out.push(s);
      if (out.length === max) break;
    }
    if (!took) break;
  }
  return out;
}
