import { isDenied, isPreconditionFailed, isVanished, reportedCode } from '../../functions/copy/error-kinds';

function awsError(name: string, status?: number) {
  return Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
}

describe('error kinds', () => {
  it.each([
    [awsError('NoSuchKey', 404), true],
    [awsError('NotFound', 404), true],
    [awsError('NoSuchBucket', 404), false],
    [awsError('AccessDenied', 403), false],
  ])('isVanished(%s) is %s', (error, expected) => {
    expect(isVanished(error)).toBe(expected);
  });

  it.each([
    [awsError('AccessDenied', 403), true],
    [awsError('Forbidden', 403), true],
    [awsError('InvalidObjectState', 403), false],
    [awsError('NoSuchKey', 404), false],
  ])('isDenied(%s) is %s', (error, expected) => {
    expect(isDenied(error)).toBe(expected);
  });

  it('tells a changed source by code or by a bodiless 412', () => {
    expect(isPreconditionFailed(awsError('PreconditionFailed', 412))).toBe(true);
    expect(isPreconditionFailed(awsError('UnknownError', 412))).toBe(true);
    expect(isPreconditionFailed(awsError('AccessDenied', 403))).toBe(false);
  });

  it.each([
    [awsError('Forbidden', 403), 'AccessDenied'],
    [awsError('NotFound', 404), 'NotFound'],
    [awsError('UnknownError', 412), 'PreconditionFailed'],
    [awsError('SlowDown', 503), 'SlowDown'],
  ])('reports %s as %s', (error, code) => {
    expect(reportedCode(error)).toBe(code);
  });
});
