import { STRAY_CLOCK_SKEW_MS, STRAY_WINDOW_MS, straysAmong } from '../../functions/copy/stray-uploads';

const since = Date.parse('2026-01-01T10:00:00Z');
const at = (offsetMs: number) => new Date(since + offsetMs);

describe('straysAmong', () => {
  it('names uploads of exactly the key started since the create, within the clock-skew allowance', () => {
    // Arrange
    const uploads = [
      { Key: 'big.bin', UploadId: 'lost', Initiated: at(200) },
      { Key: 'big.bin', UploadId: 'skewed', Initiated: at(-STRAY_CLOCK_SKEW_MS) },
    ];
    // Act
    const strays = straysAmong(uploads, 'big.bin', since);
    // Assert
    expect(strays).toEqual(['lost', 'skewed']);
  });

  it('never names an older or much later upload, another key, one without a date, or the upload in use', () => {
    // Arrange
    const uploads = [
      { Key: 'big.bin', UploadId: 'older', Initiated: at(-STRAY_CLOCK_SKEW_MS - 1) },
      { Key: 'big.bin', UploadId: 'later-writer', Initiated: at(STRAY_WINDOW_MS + STRAY_CLOCK_SKEW_MS + 1) },
      { Key: 'big.bin.2', UploadId: 'longer-key', Initiated: at(10) },
      { Key: 'other', UploadId: 'other-key', Initiated: at(10) },
      { Key: 'big.bin', UploadId: 'undated' },
      { Key: 'big.bin', UploadId: 'ours', Initiated: at(10) },
      { Key: 'big.bin', UploadId: 'lost', Initiated: at(10) },
    ];
    // Act
    const strays = straysAmong(uploads, 'big.bin', since, 'ours');
    // Assert
    expect(strays).toEqual(['lost']);
  });
});
