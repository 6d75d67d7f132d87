import { describe, expect, it } from 'vitest';
import { ConnectionCounter, isOriginAllowed } from './connection-policy.js';

describe(isOriginAllowed.name, () => {
  it('allows requests without an Origin (non-browser clients)', () => {
    expect(isOriginAllowed(undefined, 'example.com', [])).toBe(true);
  });
  it('allows the same origin and localhost by default', () => {
    expect(isOriginAllowed('https://ticks.example.com', 'ticks.example.com', [])).toBe(true);
    expect(isOriginAllowed('http://localhost:5173', 'ticks.example.com', [])).toBe(true);
    expect(isOriginAllowed('http://127.0.0.1:9', 'ticks.example.com', [])).toBe(true);
    expect(isOriginAllowed('http://[::1]:3000', 'ticks.example.com', [])).toBe(true);
  });
  it('refuses other sites unless listed', () => {
    expect(isOriginAllowed('https://evil.example', 'ticks.example.com', [])).toBe(false);
    expect(isOriginAllowed('https://app.example', 'h', ['https://app.example'])).toBe(true);
    expect(isOriginAllowed('https://evil.example', 'h', ['https://app.example'])).toBe(false);
    expect(isOriginAllowed('https://evil.example', 'h', ['*'])).toBe(true);
  });
  it('refuses malformed or non-http origins', () => {
    expect(isOriginAllowed('null', 'h', [])).toBe(false);
    expect(isOriginAllowed('file:///etc/passwd', 'h', [])).toBe(false);
    expect(isOriginAllowed('https://localhost.evil.example', 'h', [])).toBe(false);
  });
});

describe(ConnectionCounter.name, () => {
  it('caps connections per IP and frees slots on release', () => {
    const counter = new ConnectionCounter(2);
    expect(counter.tryAcquire('1.1.1.1')).toBe(true);
    expect(counter.tryAcquire('1.1.1.1')).toBe(true);
    expect(counter.tryAcquire('1.1.1.1')).toBe(false);
    expect(counter.tryAcquire('2.2.2.2')).toBe(true);
    counter.release('1.1.1.1');
    expect(counter.tryAcquire('1.1.1.1')).toBe(true);
    counter.release('1.1.1.1');
    counter.release('1.1.1.1');
    counter.release('2.2.2.2');
    expect(counter.size).toBe(0);
  });
  it('treats 0 as unlimited', () => {
    const counter = new ConnectionCounter(0);
    for (let i = 0; i < 1000; i++) expect(counter.tryAcquire('x')).toBe(true);
  });
});
