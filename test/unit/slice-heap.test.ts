import { fullCollection, SliceHeapGuard } from '../../cli/runner/slice-heap';

const MiB = 2 ** 20;

/** A heap whose used size the test sets; a collection drops it to `live`. */
function fakeHeap(start: number) {
  const heap = { used: start, live: start, collections: 0 };
  return {
    heap,
    options: {
      usedHeap: () => heap.used,
      collect: () => {
        heap.collections++;
        heap.used = heap.live;
      },
    },
  };
}

describe('SliceHeapGuard', () => {
  it('collects at a slice boundary when the heap grew by more than the slack', () => {
    // Arrange
    const { heap, options } = fakeHeap(100 * MiB);
    const guard = new SliceHeapGuard({ ...options, slackBytes: 64 * MiB });
    heap.used = 180 * MiB;
    heap.live = 105 * MiB;

    // Act
    const collected = guard.sliceEnded();

    // Assert
    expect(collected).toBe(true);
    expect(heap.collections).toBe(1);
    expect(guard.collections).toBe(1);
  });

  it('does not collect while the growth stays within the slack', () => {
    // Arrange
    const { heap, options } = fakeHeap(100 * MiB);
    const guard = new SliceHeapGuard({ ...options, slackBytes: 64 * MiB });
    heap.used = 160 * MiB;

    // Act
    const collected = guard.sliceEnded();

    // Assert
    expect(collected).toBe(false);
    expect(heap.collections).toBe(0);
  });

  it('measures growth from what the last collection left live, not from the start', () => {
    // Arrange: the first collection leaves 150 MiB live (the job's own state grew).
    const { heap, options } = fakeHeap(100 * MiB);
    const guard = new SliceHeapGuard({ ...options, slackBytes: 64 * MiB });
    heap.used = 200 * MiB;
    heap.live = 150 * MiB;
    guard.sliceEnded();

    // Act: 60 MiB above the new baseline, then 70 MiB above it.
    heap.used = 210 * MiB;
    const within = guard.sliceEnded();
    heap.used = 220 * MiB;
    const above = guard.sliceEnded();

    // Assert
    expect([within, above]).toEqual([false, true]);
    expect(heap.collections).toBe(2);
  });
});

describe('fullCollection', () => {
  it('returns V8 full collection, which frees unreachable objects', async () => {
    // Arrange: a WeakRef keeps its target alive until the current job ends, hence the turn of the loop.
    const gc = fullCollection();
    const ref = new WeakRef(Array.from({ length: 200_000 }, (_, i) => ({ i, text: `object ${i}` })));
    await new Promise((resolve) => setImmediate(resolve));

    // Act
    gc?.();

    // Assert
    expect(typeof gc).toBe('function');
    expect(ref.deref()).toBeUndefined();
  });
});
