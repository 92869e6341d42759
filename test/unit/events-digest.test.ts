import { digestKey, digestMessage, digestPeriod, digestSubject } from '../../functions/digest/events-digest';
import { parseMetricData } from '../../functions/digest/metric-sums';

/** A GetMetricData answer as CloudWatch's Query API writes it (element order as AWS documents it, and moto's). */
const RESPONSE = `<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
  <GetMetricDataResult>
    <MetricDataResults>
      <member>
        <Timestamps><member>2026-12-05T07:00:00Z</member><member>2026-12-05T08:00:00Z</member></Timestamps>
        <Label>ObjectsCopied Sum</Label>
        <Id>m0</Id>
        <Values><member>2.0</member><member>5.0</member></Values>
        <StatusCode>Complete</StatusCode>
      </member>
      <member>
        <Id>m1</Id>
        <Label>ObjectsFailed &amp; more</Label>
        <Timestamps/>
        <Values/>
        <StatusCode>Complete</StatusCode>
      </member>
      <member>
        <Values><member>1024.0</member></Values>
        <Id>m2</Id>
        <StatusCode>PartialData</StatusCode>
      </member>
    </MetricDataResults>
    <Messages/>
    <NextToken>page&amp;2</NextToken>
  </GetMetricDataResult>
</GetMetricDataResponse>`;

describe('events digest', () => {
  it("reads each result's values by its Id, whatever the order of its elements, and the next page's token", () => {
    // Act
    const page = parseMetricData(RESPONSE);
    // Assert
    expect([...page.values.entries()]).toEqual([
      ['m0', [2, 5]],
      ['m1', []],
      ['m2', [1024]],
    ]);
    expect(page.nextToken).toBe('page&2');
  });

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
      objects: { selected: 12, copied: 9, skipped: 1, failed: 1, notAttempted: 0, handedOver: 1 },
      duplicateEvents: 3,
      bytes: { copied: 4096 },
      failureReports: 's3://state/reports/events/',
      report: 's3://state/reports/events/2026-12-05.json',
    };
    // Act
    const subject = digestSubject(digest);
    const message = digestMessage(digest);
    // Assert
    expect(subject).toBe('s3xcopy events 2026-12-05: 9 copied, 1 failed');
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(message).toContain('- handed over to the workflow');
    expect(message).toContain('This digest: s3://state/reports/events/2026-12-05.json');
  });
});
