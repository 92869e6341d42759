/**
 * Test-only fix for two more embedded-server gaps (not yet in shared/NOTES.md): @20minutes/s3rver 5
 * answers ListMultipartUploads with NotImplemented and AbortMultipartUpload with MethodNotAllowed, so
 * "a failed copy leaves no open uploads" could not be observed and the engine's abort could not work.
 * This adds both routes to the server's router, after its signature check, before its refusing switch.
 * It belongs with the other fixes in cli/embedded-s3.ts; it lives here until the lead moves it.
 * Call it before startTestS3(): it patches the module (once per Jest module registry).
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';

interface RouterLayer {
  path: string;
  methods: string[];
}
interface KoaContext {
  params: { bucket: string; key?: string };
  query: Record<string, string | undefined>;
  store: {
    getBucket(name: string): Promise<unknown>;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  };
  status: number;
  body: unknown;
}
type Middleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;
interface Router {
  stack: RouterLayer[];
  get(path: string, middleware: Middleware): Router;
  delete(path: string, middleware: Middleware): Router;
}

const S3Error = require('@20minutes/s3rver/lib/models/error') as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

let applied = false;

/** Adds ListMultipartUploads and AbortMultipartUpload to the embedded server (idempotent). */
export function applyMultipartUploadRoutesFix(): void {
  if (applied) return;
  applied = true;
  const router = require('@20minutes/s3rver/lib/routes') as Router;

  const uploadsDir = (ctx: KoaContext) => ctx.store.getResourcePath(ctx.params.bucket, undefined, 'uploads');

  router.get('/:bucket', async (ctx, next) => {
    if (!('uploads' in ctx.query)) return next();
    if (!(await ctx.store.getBucket(ctx.params.bucket))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: ctx.params.bucket });
    }
    const dir = uploadsDir(ctx);
    const ids = await readdir(dir).catch(() => [] as string[]);
    const uploads = await Promise.all(
      ids.map(async (id) => ({
        Key: (await readFile(path.join(dir, id, 'key'))).toString(),
        UploadId: id,
        Initiated: (await stat(path.join(dir, id))).birthtime.toISOString(),
        StorageClass: 'STANDARD',
      })),
    );
    ctx.body = {
      ListMultipartUploadsResult: {
        Bucket: ctx.params.bucket,
        KeyMarker: '',
        UploadIdMarker: '',
        MaxUploads: 1000,
        IsTruncated: false,
        Upload: uploads,
      },
    };
  });
  router.delete('/:bucket/*key', async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    if (uploadId === undefined) return next();
    const dir = path.join(uploadsDir(ctx), path.basename(uploadId));
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (!exists) {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
    }
    await rm(dir, { recursive: true, force: true });
    ctx.status = 204;
  });

  // Move the two new layers in front of the existing route layers for the same paths (which refuse).
  const added = router.stack.splice(-2, 2);
  for (const layer of added) {
    const method = layer.methods.includes('DELETE') ? 'DELETE' : 'GET';
    const index = router.stack.findIndex(
      (existing) => existing.path === layer.path && existing.methods.includes(method),
    );
    if (index < 0) throw new Error(`embedded S3 server: no ${method} ${layer.path} route to put the fix before`);
    router.stack.splice(index, 0, layer);
  }
}
