/** The part of `sessionStorage` used here. */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const SESSION_KEY = 'tickstream.token';

/**
 * The access token of a server started with AUTH_TOKENS. Taken from `?token=`
 * (then kept in sessionStorage, not in the shareable URL or localStorage), or
 * asked for when the server refuses us; sent as the socket's `auth.token` and
 * as `Authorization: Bearer` on REST calls.
 */
export class AccessToken {
  private value: string | undefined;

  constructor(
    search: string,
    private readonly session: TokenStorage | undefined,
  ) {
    const fromUrl = new URLSearchParams(search).get('token')?.trim();
    if (fromUrl) {
      this.value = fromUrl;
      session?.setItem(SESSION_KEY, fromUrl);
    } else {
      this.value = session?.getItem(SESSION_KEY) ?? undefined;
    }
  }

  get(): string | undefined {
    return this.value;
  }

  set(token: string | undefined): void {
    this.value = token?.trim() || undefined;
    if (this.value) this.session?.setItem(SESSION_KEY, this.value);
    else this.session?.removeItem(SESSION_KEY);
  }

  /** Headers for a REST call. */
  headers(): Record<string, string> {
    return this.value ? { authorization: `Bearer ${this.value}` } : {};
  }
}

/** Removes `token` from a query string, so it never ends up in a shared link. */
export function withoutToken(search: string): string {
  const params = new URLSearchParams(search);
  if (!params.has('token')) return search;
  params.delete('token');
  const rest = params.toString();
  return rest ? `?${rest}` : '';
}
