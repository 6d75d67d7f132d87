/** A symbol outside the instrument universe was asked for. */
export class UnknownSymbolError extends Error {
  constructor(readonly symbol: string) {
    // The symbol is bounded here so a hostile string never lands whole in a log or message.
    super(
      `Unknown symbol ${JSON.stringify(symbol.length > 16 ? `${symbol.slice(0, 16)}…` : symbol)}`,
    );
    this.name = 'UnknownSymbolError';
  }
}
