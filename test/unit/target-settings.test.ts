import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { rawExpires, withRawExpires } from '../../functions/copy/target-settings';

describe('rawExpires', () => {
  it('returns a non-date Expires as text, nothing for a date or no header', () => {
    // Assess
    expect(rawExpires({ $metadata: {}, ExpiresString: 'never' })).toBe('never');
    // Date.parse reads "0" as the year 2000; HTTP says it is no date (already expired).
    expect(rawExpires({ $metadata: {}, ExpiresString: '0' })).toBe('0');
    expect(rawExpires({ $metadata: {}, ExpiresString: 'Tue, 01 Jan 2030 00:00:00 GMT' })).toBeUndefined();
    expect(rawExpires({ $metadata: {} })).toBeUndefined();
  });

  it('adds a build step that sends the text verbatim only when there is one', () => {
    // Arrange
    const plain = new CreateMultipartUploadCommand({ Bucket: 'b', Key: 'k' });
    const withText = new CreateMultipartUploadCommand({ Bucket: 'b', Key: 'k' });

    // Act
    withRawExpires(plain, { $metadata: {} });
    withRawExpires(withText, { $metadata: {}, ExpiresString: '0' });

    // Assess
    const names = (command: CreateMultipartUploadCommand) =>
      command.middlewareStack.identify().filter((entry) => entry.includes('s3xcopyRawExpires'));
    expect(names(plain)).toEqual([]);
    expect(names(withText)).toHaveLength(1);
  });
});
