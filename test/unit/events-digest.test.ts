import { digestKey, digestMessage, digestPeriod, digestSubject } from '../../functions/digest/events-digest';

describe('events digest', () => {
  it('covers the whole hours before the run, named for the day it starts', () => {
    // Act
    const period = digestPeriod(new Date('2026-12-06T06:00:41.123Z'), 24);
    // Assert
    expect(period).toEqual({ start: new Date('2026-12-05T06:00:00.000Z'), end: new Date('2026-12-06T06:00:00.000Z') });
    expect(digestKey(period)).toBe('reports/events/2026-12-05.json');
  });

  it('says the counts in a subject SNS accepts and names where the details are', () => {
    // Arrange
    const digest = {
      period: { start: '2026-12-05T06:00:00.000Z', end: '2026-12-06T06:00:00.000Z' },
      source: `s3://src/${'p'.repeat(200)}/`,
      target: 's3://dst/out/',
      objects: { selected: 13, copied: 9, skipped: 1, failed: 2, handedOver: 1 },
      failedOutOfTime: 1,
      deliveriesRetried: { failed: 4, notAttempted: 2 },
      duplicateEvents: 3,
      bytes: { copied: 4096 },
      failureReports: 's3://state/reports/events/',
      report: 's3://state/reports/events/2026-12-05.json',
    };
    // Act
    const subject = digestSubject(digest);
    const message = digestMessage(digest);
    // Assert
    expect(subject).toBe('s3xcopy events 2026-12-05: 9 copied, 2 failed');
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(message).toContain('- handed over to the workflow');
    expect(message).toContain(
      '- failed for good (their last delivery failed, 1 of them out of time; each was reported then): 2',
    );
    expect(message).toContain('- deliveries retried without settling their object: 4 failed, 2 out of time');
    expect(message).toContain('This digest: s3://state/reports/events/2026-12-05.json');
  });
});
