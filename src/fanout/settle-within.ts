/**
 * Resolves once every promise has settled or `ms` have passed, whichever
 * comes first, and leaves no timer behind: for shutdowns that wait for
 * clients to close but must not hang on one that never does.
 */
export async function settleWithin(
  promises: readonly Promise<unknown>[],
  ms: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}
