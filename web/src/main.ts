import './styles.css';
import { Dashboard } from './dashboard.js';
import { AccessToken, type TokenStorage, withoutToken } from './net/access-token.js';
import {
  loadSettings,
  fromQuery,
  STORAGE_KEY,
  type KeyValueStorage,
  type UrlState,
} from './stores/settings.js';

/** `localStorage`, or undefined where it is blocked (some private modes throw on access). */
function storage(): KeyValueStorage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

const url: UrlState = {
  get search() {
    return window.location.search;
  },
  replaceSearch(search) {
    history.replaceState(
      history.state,
      '',
      `${window.location.pathname}${search}${window.location.hash}`,
    );
  },
};

/** `sessionStorage`, or undefined where it is blocked. */
function sessionStore(): TokenStorage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

// Read the token first, then take it out of the address bar so a shared link never carries it.
const token = new AccessToken(window.location.search, sessionStore());
url.replaceSearch(withoutToken(window.location.search));

const store = storage();
const loaded = loadSettings(url, store);
const firstVisit =
  fromQuery(new URLSearchParams(url.search)).values.symbols === undefined &&
  store?.getItem(STORAGE_KEY) == null;

const dashboard = new Dashboard(loaded, firstVisit, url, store, token);
(window as unknown as { __tickstream: unknown }).__tickstream = dashboard.probe;
void dashboard.start();
