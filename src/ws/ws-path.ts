import { WS_PATH } from '../shared/ws-protocol.js';

/**
 * Whether an upgrade request is for the `/ws` endpoint (exactly `WS_PATH`,
 * any query). The one definition both sides use: WsEndpoint answers these
 * upgrades and MarketIoAdapter keeps them from Engine.IO, so no upgrade is
 * handled by both or by neither.
 */
export function isWsEndpointUrl(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith(WS_PATH)) return false;
  return url.length === WS_PATH.length || url.charCodeAt(WS_PATH.length) === 63; /* ? */
}
