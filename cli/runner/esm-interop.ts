/**
 * Lets CommonJS code (this project, run through tsx) require the ESM-only packages the handlers use
 * (@middy/core publishes only an "import" export condition). Node 22.12+ can require() ES modules; only
 * the package resolution refuses. This resolve hook retries a refused resolution with the "import"
 * condition. Import it before anything that imports a handler (runner.ts does, first). Jest and the
 * esbuild Lambda bundles resolve these packages themselves and never reach it.
 */
import module from 'node:module';

type ResolveHook = (
  specifier: string,
  context: { conditions?: readonly string[] },
  next: (specifier: string, context?: { conditions?: readonly string[] }) => unknown,
) => unknown;

const registerHooks = (module as unknown as { registerHooks?: (hooks: { resolve: ResolveHook }) => void })
  .registerHooks;

let registered = false;

/** Registers the hook once (no-op on a Node without module.registerHooks: the runner refuses those anyway). */
export function allowRequireOfEsmOnlyPackages(): void {
  if (registered || !registerHooks) return;
  registered = true;
  try {
    registerHooks({
      resolve(specifier, context, next) {
        try {
          return next(specifier, context);
        } catch (error) {
          if ((error as { code?: string }).code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error;
          return next(specifier, { ...context, conditions: [...(context.conditions ?? []), 'import'] });
        }
      },
    });
  } catch (error) {
    // Jest refuses registerHooks (it has its own module system, which resolves these packages itself).
    if (!String(error).includes('Jest')) throw error;
  }
}

allowRequireOfEsmOnlyPackages();
