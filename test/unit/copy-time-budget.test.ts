import { OutOfTime, TimeBudget } from '../../functions/copy/time-budget';

describe('TimeBudget', () => {
  afterEach(() => jest.useRealTimers());

  it('is exhausted and aborts its signal when less than the margin is left', () => {
    // Arrange
    const budget = new TimeBudget(() => 29_999, 30_000);
    // Act
    const exhausted = budget.exhausted();
    // Assert
    expect(exhausted).toBe(true);
    expect(budget.isOut).toBe(true);
    expect(budget.signal.aborted).toBe(true);
    expect(budget.signal.reason).toBeInstanceOf(OutOfTime);
  });

  it('stops by itself when the margin is reached, cutting requests in flight', () => {
    // Arrange
    jest.useFakeTimers();
    let remaining = 60_000;
    const budget = new TimeBudget(() => remaining, 30_000);
    expect(budget.exhausted()).toBe(false);
    // Act
    remaining = 30_000;
    jest.advanceTimersByTime(30_000);
    // Assert
    expect(budget.signal.aborted).toBe(true);
    expect(budget.requestOptions.abortSignal).toBe(budget.signal);
    budget.dispose();
  });

  it('allows a wait only when the margin is still left after it', () => {
    const budget = new TimeBudget(() => 40_000, 30_000);
    expect(budget.allows(10_000)).toBe(true);
    expect(budget.allows(10_001)).toBe(false);
    expect(budget.spareMs()).toBe(10_000);
  });

  it('rejects a pause with OutOfTime when the budget stops during it', async () => {
    // Arrange
    let release: () => void = () => undefined;
    const budget = new TimeBudget(
      () => 60_000,
      30_000,
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    // Act
    const paused = budget.pause(1_000);
    budget.stop();
    release();
    // Assert
    await expect(paused).rejects.toBeInstanceOf(OutOfTime);
    await expect(budget.pause(1)).rejects.toBeInstanceOf(OutOfTime);
  });

  it('resolves a pause that ends within the budget', async () => {
    const budget = new TimeBudget(
      () => 60_000,
      30_000,
      async () => undefined,
    );
    await expect(budget.pause(5)).resolves.toBeUndefined();
    expect(budget.isOut).toBe(false);
  });
});
