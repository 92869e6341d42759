/**
 * The unpatched @20minutes/s3rver, as anyone installing it gets it: started in a process of its own
 * (connect.ts), because the fixes in cli/embedded-s3.ts patch the server's modules for the whole process
 * they are loaded in. Prints `PORT=<port>` once it listens.
 *
 * It keeps none of those server-side fixes. Its continuation tokens use the DES cipher, which OpenSSL 3
 * refuses (500 on every second page): that one is met by starting Node with --openssl-legacy-provider,
 * which changes no line of the server. The other fix a client cannot avoid is on the client side: the
 * server verifies signatures of bucket-level paths without their trailing slash (applyEmbeddedClientFix,
 * which the CLI applies with S3XCOPY_EMBEDDED=1).
 */
// biome-ignore lint/suspicious/noExplicitAny: s3rver ships no types.
const S3rver: any = require('@20minutes/s3rver');

const directory = process.argv[2];
if (!directory) throw new Error('usage: unpatched-s3rver-main.ts DIRECTORY');
new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  vhostBuckets: false,
  allowMismatchedSignatures: false,
})
  .run()
  .then((address: { port: number }) => {
    process.stdout.write(`PORT=${address.port}\n`);
  });
