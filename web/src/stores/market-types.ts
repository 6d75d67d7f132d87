/**
 * The dashboard's view of `src/shared/`: the wire protocol, market types,
 * symbol syntax and the constants both sides use, re-exported as they are.
 * Nothing is declared again here, so nothing can drift. `src/shared/` imports
 * nothing of Nest, Node or the DOM: Vite bundles only what the web uses.
 */
export * from '../../../src/shared/protocol.js';
export * from '../../../src/shared/market.js';
export * from '../../../src/shared/symbols.js';
