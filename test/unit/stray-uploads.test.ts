import { straysAmong } from '../../functions/copy/stray-uploads';
import { roleSessionName } from '../../functions/shared/target-role';

const session = roleSessionName('s3xcopy-20261206T041200Z-abc123');
const sessionArn = `arn:aws:sts::222222222222:assumed-role/s3xcopy-target/${session}`;
const started = new Date('2026-12-06T04:12:00Z');

describe('straysAmong', () => {
  it("proves ours only the uploads of exactly the key initiated by the job's own role session", () => {
    // Arrange: AWS names an assumed-role session in the Initiator as its ARN, or as ROLEID:SESSION
    const uploads = [
      { Key: 'big.bin', UploadId: 'lost', Initiated: started, Initiator: { ID: sessionArn, DisplayName: session } },
      { Key: 'big.bin', UploadId: 'lost-2', Initiated: started, Initiator: { ID: `AROAEXAMPLE:${session}` } },
    ];
    // Act
    const strays = straysAmong(uploads, 'big.bin', session);
    // Assert
    expect(strays).toEqual({ ours: ['lost', 'lost-2'], unproven: [] });
  });

  it("leaves another writer's upload of the key alone, even one started in the same second, and names it", () => {
    // Arrange
    const uploads = [
      {
        Key: 'big.bin',
        UploadId: 'writer',
        Initiated: started,
        Initiator: { ID: 'arn:aws:iam::222222222222:user/ops' },
      },
      {
        Key: 'big.bin',
        UploadId: 'other-job',
        Initiated: started,
        Initiator: { ID: 'arn:aws:sts::222222222222:assumed-role/s3xcopy-target/s3xcopy-another-job' },
      },
      { Key: 'big.bin', UploadId: 'anonymous', Initiated: started },
      { Key: 'big.bin.2', UploadId: 'longer-key', Initiator: { ID: sessionArn } },
      { Key: 'big.bin', UploadId: 'in-use', Initiator: { ID: sessionArn } },
    ];
    // Act
    const strays = straysAmong(uploads, 'big.bin', session, 'in-use');
    // Assert
    expect(strays).toEqual({ ours: [], unproven: ['writer', 'other-job', 'anonymous'] });
  });

  it('proves nothing ours without a job-unique session (no target role, or a server naming every initiator alike)', () => {
    // Arrange: moto names every initiator "webfile" and dates every upload 2010-11-10
    const uploads = [
      {
        Key: 'big.bin',
        UploadId: 'a',
        Initiated: new Date('2010-11-10T20:48:33Z'),
        Initiator: { ID: '75aa57f0', DisplayName: 'webfile' },
      },
    ];
    // Act + Assert
    expect(straysAmong(uploads, 'big.bin', undefined)).toEqual({ ours: [], unproven: ['a'] });
    expect(straysAmong(uploads, 'big.bin', session)).toEqual({ ours: [], unproven: ['a'] });
  });
});
