import pLimit from 'p-limit';

/** Maps items with at most `limit` calls in flight (p-limit), keeping the results in the items' order. */
export function mapLimited<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const run = pLimit(Math.max(1, limit));
  return Promise.all(items.map((item) => run(() => map(item))));
}
