import { UsageError } from '../../cli/errors';
import { stsEndpointFor } from '../../cli/sts-endpoint';

describe('stsEndpointFor', () => {
  it('uses --sts-endpoint first, whatever else is set', () => {
    // Act
    const endpoint = stsEndpointFor(
      { endpoint: 'http://127.0.0.1:7480', stsEndpoint: 'http://127.0.0.1:5000' },
      { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:1' },
    );

    // Assess
    expect(endpoint).toBe('http://127.0.0.1:5000');
  });

  it('leaves AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL to the SDK, which reads them itself', () => {
    // Assess
    expect(stsEndpointFor({ endpoint: 'http://127.0.0.1:7480' }, { AWS_ENDPOINT_URL_STS: 'http://x' })).toBeUndefined();
    expect(stsEndpointFor({ endpoint: 'http://127.0.0.1:7480' }, { AWS_ENDPOINT_URL: 'http://x' })).toBeUndefined();
  });

  it('assumes the role on the S3-compatible server itself when only --endpoint is given', () => {
    // Assess
    expect(stsEndpointFor({ endpoint: 'http://127.0.0.1:7480' }, {})).toBe('http://127.0.0.1:7480');
  });

  it('uses AWS STS without --endpoint', () => {
    // Assess
    expect(stsEndpointFor({}, {})).toBeUndefined();
  });

  it('rejects a --sts-endpoint that is not an http(s) URL, naming the flag', () => {
    // Assess
    expect(() => stsEndpointFor({ stsEndpoint: 'ftp://x' }, {})).toThrow(UsageError);
    expect(() => stsEndpointFor({ stsEndpoint: 'not a url' }, {})).toThrow(/--sts-endpoint/);
  });
});
