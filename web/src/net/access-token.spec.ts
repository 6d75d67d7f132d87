import { describe, expect, it } from 'vitest';
import { AccessToken, type TokenStorage, withoutToken } from './access-token.js';

class MemoryStorage implements TokenStorage {
  readonly map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, value);
  }
  removeItem(key: string): void {
    this.map.delete(key);
  }
}

describe(AccessToken.name, () => {
  it('takes ?token= and keeps it in session storage', () => {
    const session = new MemoryStorage();
    const token = new AccessToken('?symbols=AAPL&token=secret-123', session);
    expect(token.get()).toBe('secret-123');
    expect(token.headers()).toEqual({ authorization: 'Bearer secret-123' });
    expect(new AccessToken('', session).get()).toBe('secret-123');
  });

  it('has no token and no header by default', () => {
    const token = new AccessToken('?symbols=AAPL', new MemoryStorage());
    expect(token.get()).toBeUndefined();
    expect(token.headers()).toEqual({});
  });

  it('forgets a cleared token', () => {
    const session = new MemoryStorage();
    const token = new AccessToken('?token=abc', session);
    token.set('  ');
    expect(token.get()).toBeUndefined();
    expect(session.map.size).toBe(0);
  });
});

describe(withoutToken.name, () => {
  it('drops only the token from a query string', () => {
    expect(withoutToken('?symbols=AAPL&token=x&interval=250')).toBe('?symbols=AAPL&interval=250');
    expect(withoutToken('?token=x')).toBe('');
    expect(withoutToken('?symbols=AAPL')).toBe('?symbols=AAPL');
  });
});
