import { COPY_RATES } from '../shared/copy-rates';
import type { Batch, ManifestObject } from '../shared/job';
import { compareKeys } from './key-order';

/** Every batch (one Distributed Map item, passed to one copy invocation with the job) stays under this. */
export const MAX_BATCH_JSON_BYTES = 200 * 1024;

export interface PlanLimits {
  /** At most this many objects per batch. */
  maxObjectsPerBatch: number;
  /** At most this many bytes per batch; a larger object gets a batch of its own. */
  maxBytesPerBatch: number;
  /** At most this many bytes of JSON per batch (default MAX_BATCH_JSON_BYTES). */
  maxBatchJsonBytes?: number;
  /**
   * The Distributed Map's MaxConcurrency: batches that run at once. When the fewest batches the limits
   * allow are more than one round of it, their number is rounded up to whole rounds (see planBatches).
   */
  parallelism?: number;
}

/**
 * How many batches a slice gets: the fewest the limits allow (`fewest`), rounded up to a whole number of rounds of `parallelism` when that is more than
 * one round. Balanced batches of one slice take about the same time, so the Map runs them in rounds:
 * 100 batches at MaxConcurrency 40 are rounds of 40, 40 and 20, and the last round leaves half the slots
 * idle for a whole batch's time (measured on the S3 model: 33 of 40 children busy on average). 120
 * smaller batches fill three rounds. Within one round nothing is gained by splitting, so a slice that
 * needs no more than `parallelism` batches keeps the fewest (each more batch is one more invocation and
 * child execution: docs/cost.md).
 */
export function batchCount(fewest: number, parallelism: number | undefined): number {
  if (parallelism === undefined || parallelism < 1 || fewest <= parallelism) return fewest;
  return Math.ceil(fewest / parallelism) * parallelism;
}

/**
 * What one object costs a copy invocation besides its bytes, in bytes (the rate model in
 * functions/shared/copy-rates.ts). Balancing bytes plus this per object balances both what matters for
 * thousands of small objects (their count) and for large ones (their bytes).
 */
export const OBJECT_OVERHEAD_BYTES = COPY_RATES.perObjectOverheadBytes;

/** The JSON a batch costs besides its objects: `{"id":"...","objects":[],"bytes":N}` with a generous id and N. */
const BATCH_OVERHEAD_JSON_BYTES = 128;

function jsonBytes(object: ManifestObject): number {
  // +1 for the comma between array items.
  return Buffer.byteLength(JSON.stringify(object)) + 1;
}

interface Bin {
  objects: ManifestObject[];
  bytes: number;
  /** bytes + OBJECT_OVERHEAD_BYTES per object: the estimated copy time the heap balances. */
  weight: number;
  json: number;
}

/** A binary min-heap of bins by weight (ties: fewer bytes first), so each object goes to the lightest bin. */
class BinHeap {
  private readonly items: Bin[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Bin | undefined {
    return this.items[0];
  }
  push(bin: Bin): void {
    const items = this.items;
    items.push(bin);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i] as Bin, items[parent] as Bin)) break;
      [items[i], items[parent]] = [items[parent] as Bin, items[i] as Bin];
      i = parent;
    }
  }
  pop(): Bin | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.less(items[left] as Bin, items[smallest] as Bin)) smallest = left;
        if (right < items.length && this.less(items[right] as Bin, items[smallest] as Bin)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest] as Bin, items[i] as Bin];
        i = smallest;
      }
    }
    return top;
  }
  private less(a: Bin, b: Bin): boolean {
    return a.weight < b.weight || (a.weight === b.weight && a.bytes < b.bytes);
  }
}

/**
 * Splits a slice's selected objects into batches balanced by bytes and by count, so the copy
 * invocations of one Distributed Map finish at about the same time.
 *
 * - Every object lands in exactly one batch.
 * - A batch holds at most `maxObjectsPerBatch` objects, `maxBytesPerBatch` bytes and
 *   `maxBatchJsonBytes` of JSON, except an object larger than `maxBytesPerBatch`, which gets a batch of
 *   its own.
 * - Count: the fewest batches the three limits allow, or with `parallelism` (the Map's MaxConcurrency)
 *   whole rounds of it when they are more than one round (batchCount); never more than the objects.
 * - Balance: the batches start as that count (n); objects go largest first
 *   to the open batch of least weight (bytes + OBJECT_OVERHEAD_BYTES per object: greedy list
 *   scheduling of the estimated copy time). A batch holds at most ceil(count/n) objects, and no batch's
 *   weight exceeds the mean weight by more than the heaviest object's (see the property tests).
 * - Objects inside a batch are in S3 key order; batch ids are `<idPrefix><index>`.
 */
export function planBatches(objects: readonly ManifestObject[], limits: PlanLimits, idPrefix = 'b'): Batch[] {
  const maxJson = (limits.maxBatchJsonBytes ?? MAX_BATCH_JSON_BYTES) - BATCH_OVERHEAD_JSON_BYTES;
  const oversized: ManifestObject[] = [];
  const regular: Array<{ object: ManifestObject; json: number }> = [];
  let regularBytes = 0;
  let regularJson = 0;
  let largestJson = 0;
  for (const object of objects) {
    if (object.size > limits.maxBytesPerBatch) {
      oversized.push(object);
      continue;
    }
    const json = jsonBytes(object);
    if (json > maxJson) {
      throw new Error(
        `Object ${object.key} needs ${json} bytes of JSON, more than a batch may hold (${maxJson}); S3 keys are at most 1,024 bytes, so this cannot be an S3 listing`,
      );
    }
    regular.push({ object, json });
    regularBytes += object.size;
    regularJson += json;
    largestJson = Math.max(largestJson, json);
  }

  const bins: Bin[] = [];
  if (regular.length > 0) {
    // A bin closes for good once it cannot take the largest object's JSON: it keeps the heap free of bins
    // that only some objects fit. It wastes at most one key's JSON (about 6 KiB) of the 200 KiB.
    const usableJson = Math.max(maxJson - largestJson, largestJson);
    const fewest = Math.max(
      Math.ceil(regular.length / limits.maxObjectsPerBatch),
      Math.ceil(regularBytes / limits.maxBytesPerBatch),
      Math.ceil(regularJson / usableJson),
      1,
    );
    // Whole rounds of the Map counting the oversized objects' own batches; only the regular objects are
    // split further, into no more batches than they are.
    const rounds = batchCount(fewest + oversized.length, limits.parallelism) - oversized.length;
    const initial = Math.min(regular.length, Math.max(fewest, rounds));
    const countCap = Math.min(limits.maxObjectsPerBatch, Math.ceil(regular.length / initial));
    const open = new BinHeap();
    const newBin = (): Bin => {
      const bin: Bin = { objects: [], bytes: 0, weight: 0, json: 0 };
      bins.push(bin);
      return bin;
    };
    for (let i = 0; i < initial; i++) open.push(newBin());

    regular.sort((a, b) => b.object.size - a.object.size || compareKeys(a.object.key, b.object.key));
    for (const { object, json } of regular) {
      const lightest = open.peek();
      // Taking the lightest open bin or a new one keeps the balance bound; a lighter-in-bytes bin that
      // could take the object would only matter with objects near the byte cap.
      const bin = lightest && lightest.bytes + object.size <= limits.maxBytesPerBatch ? (open.pop() as Bin) : newBin();
      bin.objects.push(object);
      bin.bytes += object.size;
      bin.weight += object.size + OBJECT_OVERHEAD_BYTES;
      bin.json += json;
      const full = bin.objects.length >= countCap || bin.json + largestJson > maxJson;
      if (!full) open.push(bin);
    }
  }

  const batches: Batch[] = [];
  for (const bin of bins) {
    if (bin.objects.length === 0) continue;
    bin.objects.sort((a, b) => compareKeys(a.key, b.key));
    batches.push({ id: `${idPrefix}${batches.length}`, objects: bin.objects, bytes: bin.bytes });
  }
  for (const object of oversized.sort((a, b) => compareKeys(a.key, b.key))) {
    batches.push({ id: `${idPrefix}${batches.length}`, objects: [object], bytes: object.size });
  }
  return batches;
}
