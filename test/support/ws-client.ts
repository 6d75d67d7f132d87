import * as v from 'valibot';
import WebSocket from 'ws';
import { describeIssue } from '../../src/shared/protocol.schema.js';
import type { WsServerMessage } from '../../src/shared/ws-protocol.js';
import { WsServerMessageSchema } from '../../src/shared/ws-protocol.schema.js';
import { waitFor } from './test-app.js';

const open = new Set<WsClient>();

/**
 * A plain `ws` client of `/ws` that keeps every message it receives, parsed.
 * Each one is also checked against the protocol's schema: a frame that does
 * not conform is recorded, and {@link closeAllWsClients} fails the test.
 */
export class WsClient {
  readonly messages: WsServerMessage[] = [];
  /** Frames that did not match `WsServerMessageSchema`, as "type: issue". */
  readonly violations: string[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const value = JSON.parse(data.toString('utf8')) as WsServerMessage;
      const checked = v.safeParse(WsServerMessageSchema, value);
      if (!checked.success) {
        this.violations.push(`${String(value.type)}: ${describeIssue(checked.issues[0])}`);
      }
      this.messages.push(value);
    });
    ws.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
    ws.on('error', () => undefined);
  }

  /** Opens `ws://…/ws` (with `query` and `headers`) and waits for the welcome. */
  static async connect(
    httpUrl: string,
    options: { query?: string; headers?: Record<string, string> } = {},
  ): Promise<WsClient> {
    const url = `${httpUrl.replace(/^http/, 'ws')}/ws${options.query ? `?${options.query}` : ''}`;
    const ws = new WebSocket(url, { headers: options.headers, perMessageDeflate: false });
    const client = new WsClient(ws);
    open.add(client);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    await client.next('welcome');
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Messages of one type received so far. */
  of<T extends WsServerMessage['type']>(type: T): Extract<WsServerMessage, { type: T }>[] {
    return this.messages.filter((m): m is Extract<WsServerMessage, { type: T }> => m.type === type);
  }

  /** Resolves with the first message of `type` received at or after index `from`. */
  async next<T extends WsServerMessage['type']>(
    type: T,
    from = 0,
    timeoutMs = 3000,
  ): Promise<Extract<WsServerMessage, { type: T }>> {
    let found: WsServerMessage | undefined;
    await waitFor(
      () => (found = this.messages.slice(from).find((m) => m.type === type)) !== undefined,
      timeoutMs,
      `a "${type}" message`,
    );
    return found as Extract<WsServerMessage, { type: T }>;
  }

  /** Sends a request with `id` and resolves with its ack. */
  async request(message: Record<string, unknown>, id: number | string = (Math.random() * 1e9) | 0) {
    const from = this.messages.length;
    this.send({ ...message, id });
    await waitFor(
      () => this.messages.slice(from).some((m) => m.type === 'ack' && m.id === id),
      3000,
      `the ack of ${String(id)}`,
    );
    return this.messages.slice(from).find((m) => m.type === 'ack' && m.id === id) as Extract<
      WsServerMessage,
      { type: 'ack' }
    >;
  }

  async waitForClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.closed !== undefined, timeoutMs, 'the WebSocket to close');
    return this.closed!;
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * Closes every client opened with {@link WsClient.connect}, and throws if any
 * of them received a frame that does not match the protocol's schema.
 */
export function closeAllWsClients(): void {
  const violations = [...open].flatMap((c) => c.violations);
  for (const c of open) c.ws.terminate();
  open.clear();
  if (violations.length > 0) {
    throw new Error(`the server sent frames off the protocol schema:\n${violations.join('\n')}`);
  }
}

/** The HTTP status an upgrade to `/ws` is refused with, or 101 when it is accepted. */
export async function upgradeStatus(
  httpUrl: string,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<number> {
  return (await upgradeResponse(httpUrl, options)).status;
}

/** The status and headers of the answer to a /ws upgrade (101, a refusal, or 0 for no answer). */
export function upgradeResponse(
  httpUrl: string,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const url = `${httpUrl.replace(/^http/, 'ws')}/ws${options.query ? `?${options.query}` : ''}`;
  const ws = new WebSocket(url, { headers: options.headers });
  return new Promise((resolve) => {
    ws.once('upgrade', (res) => {
      ws.once('open', () => {
        ws.terminate();
        resolve({ status: 101, headers: res.headers });
      });
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      ws.terminate();
    });
    ws.once('error', () => resolve({ status: 0, headers: {} }));
  });
}
