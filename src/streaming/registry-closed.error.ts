/**
 * A subscription arrived after the registry was torn down. A caller bug (the
 * gateway stops taking requests before shutdown), so not a wire error: the
 * gateway maps it to INTERNAL and logs it.
 */
export class RegistryClosedError extends Error {
  constructor() {
    super('stream registry is shut down');
    this.name = 'RegistryClosedError';
  }
}
