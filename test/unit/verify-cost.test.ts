/** The cost model counts the requests of the check after a copy (functions/copy/verify-copy.ts). */
import { s3xcopyRequestsPerObject } from '../../cli/cost/scenarios';

const base = { partsPerObject: 3, mode: 'copy' as const, tags: 'copy' as const };

describe('s3xcopyRequestsPerObject with verify', () => {
  it('adds HEAD target and two GetObjectTagging to a multipart copy by default', () => {
    // Act
    const checked = s3xcopyRequestsPerObject({ ...base, multipart: true });
    const unchecked = s3xcopyRequestsPerObject({ ...base, multipart: true, verify: 'none' });

    // Assess: the unchecked copy HEADs the source and its 3 parts; the check adds a HEAD of the target.
    expect(unchecked.HEAD).toBe(4);
    expect(checked).toEqual({ ...unchecked, HEAD: 5, GetObjectTagging: 3 });
  });

  it('leaves a single-request copy unchecked by default, and adds two HEAD and two GetObjectTagging with all', () => {
    // Assess
    expect(s3xcopyRequestsPerObject({ ...base, multipart: false })).toEqual({ COPY: 1 });
    expect(s3xcopyRequestsPerObject({ ...base, multipart: false, verify: 'all' })).toEqual({
      COPY: 1,
      HEAD: 2,
      GetObjectTagging: 2,
    });
  });

  it('reads no tags to check when tags are not copied', () => {
    // Assess
    expect(s3xcopyRequestsPerObject({ ...base, tags: 'none', multipart: false, verify: 'all' })).toEqual({
      COPY: 1,
      HEAD: 2,
    });
  });
});
