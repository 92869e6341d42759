/**
 * Seeds the embedded S3 server's store directly on disk, for fixtures of tens of thousands of objects
 * that PUTs (100-200 a second) would take minutes to create.
 *
 * It writes exactly what the server's own FilesystemStore.putObject writes
 * (node_modules/@20minutes/s3rver/lib/stores/filesystem.js): for key "a/b/c.txt" in bucket B,
 * `B/a/b/c.txt._S3rver_object` (the body), `..._S3rver_object.md5` (hex MD5, the ETag) and
 * `..._S3rver_metadata.json` (content type). The server reads Size from the file, LastModified from its
 * mtime and ETag from the .md5 file, so listings and HEADs of seeded objects match PUT ones; the
 * mtime can be set, which PUT cannot do. The bucket must exist (create it through the API).
 */
import { createHash } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface SeedObject {
  key: string;
  body: string | Uint8Array;
  /** LastModified (whole seconds on this server); default now. */
  lastModified?: Date;
}

/** Writes objects straight into the server's directory; `directory` is EmbeddedS3.directory. */
export async function seedObjects(directory: string, bucket: string, objects: readonly SeedObject[]): Promise<void> {
  const madeDirs = new Set<string>();
  const write = async (object: SeedObject) => {
    const parts = object.key.split('/');
    if (parts.some((part) => part === '' || part === '.' || part === '..') || object.key.includes('._S3rver_')) {
      throw new Error(
        `seedObjects: key "${object.key}" has no faithful file layout in the embedded server; PUT it instead`,
      );
    }
    const name = parts.pop() as string;
    const dir = path.join(directory, bucket, ...parts);
    if (!madeDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      madeDirs.add(dir);
    }
    const base = path.join(dir, `${name}._S3rver_`);
    const body = typeof object.body === 'string' ? Buffer.from(object.body) : object.body;
    await writeFile(`${base}object`, body);
    await writeFile(`${base}object.md5`, createHash('md5').update(body).digest('hex'));
    await writeFile(`${base}metadata.json`, JSON.stringify({ 'content-type': 'application/octet-stream' }, null, 2));
    if (object.lastModified) await utimes(`${base}object`, object.lastModified, object.lastModified);
  };
  // Bounded parallelism: enough to overlap file system calls without exhausting file descriptors.
  let next = 0;
  const worker = async () => {
    while (next < objects.length) await write(objects[next++] as SeedObject);
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}
